"""CI files of either provider reduce to jobs: what they run and on which trigger."""

from __future__ import annotations

import pytest

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


def github_job(job: str) -> dict:
    """One workflow on pull requests with the job given (YAML under `jobs:`)."""
    workflow = "on: [pull_request, push]\njobs:\n" + job
    return jobs({".github/workflows/ci.yml": workflow})


def test_a_github_job_that_never_runs_runs_nothing() -> None:
    for condition in ("false", "${{ false }}", "'${{ false }}'"):
        found = github_job(f"  checks:\n    if: {condition}\n"
                           "    steps: [{run: make test}]\n")["checks"]
        assert found.triggers == frozenset(), condition
        assert not found.runs("test"), condition


def test_a_github_job_or_step_that_cannot_fail_runs_nothing() -> None:
    job = github_job("  checks:\n    continue-on-error: true\n"
                     "    steps: [{run: make test}]\n")["checks"]
    step = github_job("  checks:\n    steps: [{run: make test, continue-on-error: true}]\n")[
        "checks"]
    never_step = github_job("  checks:\n    steps: [{run: make test, if: false}]\n")["checks"]

    assert not job.can_fail and not job.runs("test")
    assert not step.runs("test")
    assert not never_step.runs("test")


def test_a_command_whose_failure_is_swallowed_or_that_only_describes_runs_nothing() -> None:
    for command in ("make test || true", "make test || :", "make test || exit 0",
                    "make test || echo skipped", "make test || printf no", "make -n test",
                    "make -sn test", "make --dry-run test", "make test --help",
                    "make test || { echo failed; }"):
        found = github_job(f"  checks:\n    steps: [{{run: '{command}'}}]\n")["checks"]
        assert not found.runs("test"), command
    # Runners stop at the first failure (errexit, pipefail): these still fail the step.
    for command in ("make test && true", "make test; true", "make test | tee log",
                    "make test || { echo failed; exit 1; }", "make -j2 test"):
        found = github_job(f"  checks:\n    steps: [{{run: '{command}'}}]\n")["checks"]
        assert found.runs("test"), command


@pytest.mark.parametrize("condition", [
    "github.event_name == 'nightly'", "${{ 1 == 2 }}", "'a' != 'a'", "false && true",
    "github.event_name == 'push' && 'x' == 'y'", "!true",
    "github.event_name == 'release' || 1 == 0"])
def test_a_condition_false_whatever_the_run_switches_the_job_off(condition: str) -> None:
    found = github_job(f"  checks:\n    if: \"{condition}\"\n"
                       "    steps: [{run: make test}]\n")["checks"]
    assert found.triggers == frozenset() and not found.runs("test")


def test_a_condition_that_can_hold_keeps_the_job() -> None:
    for condition in ("github.event_name == 'pull_request'", "github.event_name != 'push'",
                      "contains(github.ref, 'main')", "github.actor == 'someone'"):
        found = github_job(f"  checks:\n    if: \"{condition}\"\n"
                           "    steps: [{run: make test}]\n")["checks"]
        assert found.runs("test"), condition


def test_a_command_only_in_env_runs_nothing() -> None:
    found = github_job("  checks:\n    env: {NOTE: make test}\n"
                       "    steps: [{run: echo hello, env: {CMD: make test}}]\n")["checks"]

    assert not found.runs("test")


def test_gitlab_jobs_that_never_run_or_may_fail_run_nothing() -> None:
    pipeline = """
never:
  script: [make test]
  when: never
ruled-out:
  script: [make test]
  rules: [{if: $CI_PIPELINE_SOURCE == "merge_request_event", when: never}]
allowed:
  script: [make test]
  allow_failure: true
swallowed:
  script: ["make test || true"]
after:
  script: [echo hi]
  after_script: [make test]
noted:
  variables: {RUN: make test}
  script: [echo hi]
"""
    found = jobs({".gitlab-ci.yml": pipeline})

    assert found["never"].triggers == found["ruled-out"].triggers == frozenset()
    assert not any(job.runs("test") for job in found.values()), [
        name for name, job in found.items() if job.runs("test")]


def test_environment_prod_counts_only_on_the_job_that_deploys_prod() -> None:
    found = github_job("""  lint:
    environment: prod
    steps: [{run: make lint}]
  staging:
    environment: prod
    steps: [{run: make deploy ENV=staging}]
  prod:
    environment: prod
    steps: [{run: make deploy ENV=prod}]
""")

    assert [name for name, job in found.items() if job.deploys_to("prod")] == ["prod"]
    assert found["staging"].deploys_to("staging")


def test_a_gitlab_rule_that_never_holds_adds_no_trigger() -> None:
    pipeline = ("checks:\n  rules:\n    - if: '$CI_PIPELINE_SOURCE == \"nightly\"'\n"
                "    - if: '\"a\" == \"b\"'\n  script: [make test]\n"
                "lint:\n  rules:\n    - if: '$CI_PIPELINE_SOURCE == \"merge_request_event\"'\n"
                "  script: [make -n lint, make lint || echo skipped]\n")
    found = jobs({".gitlab-ci.yml": pipeline})
    assert found["checks"].triggers == frozenset() and not found["checks"].runs("test")
    assert found["lint"].triggers == frozenset({PULL_REQUEST})
    assert not found["lint"].runs("lint")
