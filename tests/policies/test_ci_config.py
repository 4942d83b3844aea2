"""CI files of either provider reduce to jobs: what they run and on which trigger."""

from __future__ import annotations

from mlops_platform.governance.ci_config import MANUAL, PULL_REQUEST, PUSH, SCHEDULE, ci_jobs

GITHUB = """
name: ci
on:
  pull_request:
  schedule:
    - cron: "0 3 * * 1"
  workflow_dispatch:
jobs:
  checks:
    runs-on: ubuntu-24.04
    if: github.event_name == 'pull_request'
    steps:
      - run: make lint test check
  drift:
    runs-on: ubuntu-24.04
    if: github.event_name == 'schedule'
    steps:
      - uses: your-org/mlops-platform-template/pipelines/github/drift@v0.1.0
  prod:
    runs-on: ubuntu-24.04
    environment:
      name: prod
    steps:
      - run: make deploy ENV=prod
"""

GITLAB = """
stages: [test, deploy]
.make:
  image: python:3.11.10-slim
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
checks:
  extends: .make
  script: ["make lint test check"]
retrain:
  script: ["make retrain"]
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
deploy-prod:
  script: ["make deploy ENV=prod"]
  environment: {name: prod}
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
"""


def jobs(files: dict[str, str]) -> dict:
    return {job.name: job for job in ci_jobs(files)}


def test_github_jobs_keep_the_event_their_condition_names() -> None:
    found = jobs({".github/workflows/ci.yml": GITHUB})

    assert found["checks"].triggers == {PULL_REQUEST}
    assert found["drift"].triggers == {SCHEDULE}
    assert found["prod"].triggers == {PULL_REQUEST, SCHEDULE, MANUAL}
    assert (found["prod"].environment, found["prod"].manual) == ("prod", True)


def test_a_job_runs_make_targets_itself_or_through_a_shared_action() -> None:
    found = jobs({".github/workflows/ci.yml": GITHUB})

    assert found["checks"].runs("test") and found["checks"].runs("check")
    assert not found["checks"].runs("pipeline")
    assert found["drift"].runs("drift")
    assert found["prod"].runs("deploy") and not found["prod"].runs("rollback")


def test_gitlab_jobs_take_triggers_from_rules_and_templates() -> None:
    found = jobs({".gitlab-ci.yml": GITLAB})

    assert set(found) == {"checks", "retrain", "deploy-prod"}
    assert found["checks"].triggers == {PULL_REQUEST}
    assert found["retrain"].triggers == {SCHEDULE}
    assert found["deploy-prod"].triggers == {PUSH, MANUAL}
    assert (found["deploy-prod"].environment, found["deploy-prod"].manual) == ("prod", True)


def test_a_broken_ci_file_yields_no_jobs_instead_of_a_crash() -> None:
    assert ci_jobs({".gitlab-ci.yml": "checks: [unclosed\n"}) == []


SHARED = """
on: {push: {branches: [main]}}
jobs:
  pr:
    runs-on: ubuntu-24.04
    steps:
      - uses: your-org/mlops-platform-template/pipelines/github/pipeline-sample@v0.1.0
"""


def test_a_shared_action_counts_for_its_own_target_only() -> None:
    job = jobs({".github/workflows/ci.yml": SHARED})["pr"]

    assert job.runs("pipeline-sample")
    assert not job.runs("pipeline")


def test_a_gitlab_job_extending_an_included_template_runs_its_target() -> None:
    pipeline = ("retrain:\n  extends: .mlops-retrain\n"
                "  rules: [{if: $CI_PIPELINE_SOURCE == 'schedule'}]\n")
    job = jobs({".gitlab-ci.yml": pipeline})["retrain"]

    assert job.runs("retrain") and not job.runs("train")
    assert job.triggers == {SCHEDULE}
