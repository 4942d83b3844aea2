"""Registry credentials in generated CI: pull-request jobs hold only read-only identities, and
level 2 previews every change to deploy/ with the platform's policy pack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_platform.governance.ci_config import PULL_REQUEST, PUSH, CiJob, ci_jobs, dump
from tests.pipelines.test_ci_files import PROJECTS, project_id

# What a pull-request job may hold: the registry reader and a Pulumi token that only reads.
READ_ONLY = {"MLFLOW_READER_USERNAME", "MLFLOW_READER_PASSWORD", "PULUMI_PREVIEW_TOKEN"}
GITHUB_SECRET = re.compile(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)")
GITLAB_VARIABLE = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")
WRITE_VARIABLE = re.compile(r"^MLFLOW_(?:WRITER|GATE)_|^MLFLOW_TRACKING_(?:USERNAME|PASSWORD)$"
                            r"|^MLFLOW_AUTH_ADMIN_")
# GitLab injects environment-scoped variables into any job of that environment.
WRITE_ENVIRONMENTS = {"training", "staging", "prod"}


def ci_files(project: Path) -> dict[str, str]:
    paths = [*sorted((project / ".github" / "workflows").glob("*.yml")),
             *project.glob(".gitlab-ci.yml")]
    return {str(path.relative_to(project)): path.read_text() for path in paths}


def raw_jobs(file: str, document: dict[str, Any]) -> dict[str, Any]:
    if file.endswith(".gitlab-ci.yml"):
        return {name: job for name, job in document.items() if isinstance(job, dict)}
    return document.get("jobs") or {}


def pr_write_exposures(files: dict[str, str]) -> list[str]:
    """Every write credential a pull-request-triggered job (or the whole file) can see."""
    found = []
    jobs = {(job.file, job.name): job for job in ci_jobs(files)}
    for file, text in files.items():
        document = yaml.safe_load(text)
        gitlab = file.endswith(".gitlab-ci.yml")
        pipeline_wide = document.get("variables" if gitlab else "env") or {}
        found += [f"{file}: pipeline-wide {name}" for name in referenced(dump(pipeline_wide),
                                                                          gitlab)]
        if not gitlab and "secrets: inherit" in text:
            found.append(f"{file}: secrets: inherit")
        for name, raw in raw_jobs(file, document).items():
            job = jobs.get((file, name))
            if job is None or PULL_REQUEST not in job.triggers:
                continue
            found += [f"{file}: job {name} sees {secret}"
                      for secret in referenced(dump(raw), gitlab)]
            if gitlab and job.environment in WRITE_ENVIRONMENTS:
                found.append(f"{file}: job {name} runs in environment {job.environment}")
    return found


def referenced(text: str, gitlab: bool) -> list[str]:
    """The secrets (GitHub) or variables (GitLab) a text refers to that may write."""
    names = set((GITLAB_VARIABLE if gitlab else GITHUB_SECRET).findall(text))
    if gitlab:
        return sorted(name for name in names if WRITE_VARIABLE.search(name))
    return sorted(names - READ_ONLY)


def pr_jobs(files: dict[str, str]) -> list[CiJob]:
    return [job for job in ci_jobs(files) if PULL_REQUEST in job.triggers]


@pytest.mark.parametrize("case", PROJECTS, ids=project_id)
def test_pull_request_jobs_hold_only_read_only_credentials(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path]) -> None:
    files = ci_files(baked_projects[case])
    assert pr_jobs(files), "pull requests run CI"
    assert pr_write_exposures(files) == []
    # The jobs that talk to the registry on a pull request do so as the reader.
    for job in pr_jobs(files):
        if job.runs("check") or job.runs("pipeline-sample"):
            assert dict(job.variables).get("MLFLOW_TRACKING_USERNAME", "").endswith(
                ("secrets.MLFLOW_READER_USERNAME }}", "$MLFLOW_READER_USERNAME")), job.name


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_the_pulumi_token_reaches_a_pull_request_only_through_its_reviewed_environment(
        provider: str, baked_projects: dict[tuple[str, str], Path]) -> None:
    files = ci_files(baked_projects[("2", provider)])
    holders = [job for job in pr_jobs(files)
               if "PULUMI_PREVIEW_TOKEN" in dict(job.variables).get("PULUMI_ACCESS_TOKEN", "")]
    assert holders, "level 2 previews deploy/ on pull requests"
    assert {job.environment for job in holders} == {"preview"}


@pytest.mark.parametrize("case", PROJECTS, ids=project_id)
def test_the_promote_stage_and_staging_get_the_gates_identity(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path]) -> None:
    level, provider = case
    files = ci_files(baked_projects[case])
    jobs = {job.name: job for job in ci_jobs(files)}
    if provider == "github":
        # Secrets reach a GitHub job only where the job names them.
        gate = "secrets.MLFLOW_GATE_USERNAME }}"
        assert (gate in dict(jobs["pipeline"].variables).get("MLFLOW_GATE_USERNAME", "")) == (
            level != "0")
    else:
        # GitLab gives a job the protected variables scoped to its environment.
        assert jobs["pipeline"].environment == "training"
    if level == "2":
        assert dict(jobs["deploy-staging"].variables)["MLFLOW_TRACKING_USERNAME"].endswith(
            ("secrets.MLFLOW_GATE_USERNAME }}", "$MLFLOW_GATE_USERNAME"))


@pytest.mark.parametrize("exposure", [
    ("github", "workflow env", lambda w: w.update(env={
        "MLFLOW_TRACKING_PASSWORD": "${{ secrets.MLFLOW_TRACKING_PASSWORD }}"})),
    ("github", "pr job env", lambda w: w["jobs"]["checks"]["env"].update(
        MLFLOW_TRACKING_PASSWORD="${{ secrets.MLFLOW_WRITER_PASSWORD }}")),
    ("gitlab", "pipeline variables", lambda p: p["variables"].update(
        MLFLOW_TRACKING_PASSWORD="$MLFLOW_GATE_PASSWORD")),
    ("gitlab", "mr job in a scoped environment", lambda p: p["checks"].update(
        environment={"name": "training", "action": "prepare"})),
], ids=lambda exposure: f"{exposure[0]}-{exposure[1]}".replace(" ", "-"))
def test_a_write_credential_on_a_pull_request_is_caught(
        exposure: tuple[str, str, Any], baked_projects: dict[tuple[str, str], Path]) -> None:
    provider, _, mutate = exposure
    files = ci_files(baked_projects[("2", provider)])
    name = ".gitlab-ci.yml" if provider == "gitlab" else ".github/workflows/ci.yml"
    document = yaml.safe_load(files[name])
    mutate(document)
    assert pr_write_exposures({**files, name: yaml.safe_dump(document)}) != []


@pytest.mark.parametrize("case", PROJECTS, ids=project_id)
def test_level_two_previews_every_change_to_deploy_with_the_pack(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path]) -> None:
    level, _ = case
    previews = [job for job in ci_jobs(ci_files(baked_projects[case]))
                if re.search(r"\bpulumi preview\b.*--cwd deploy\b.*--policy-pack ", job.text)]
    if level != "2":
        assert previews == []
        return
    [preview] = previews
    assert preview.counts, "it runs and its failure fails the pipeline"
    assert {PULL_REQUEST, PUSH} <= preview.triggers
    assert preview.paths and all(path.startswith("deploy/**") for path in preview.paths)
    assert "--policy-pack-config" in preview.text
    assert re.search(r"config/\$STACK\.json", preview.text), "each stack with its own config"
