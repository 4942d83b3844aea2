"""What a generated project's CI runs of a canary rollout: at level 2, on the schedule, `make
canary ENV=prod CURRENT=store` as the gate (its audit record's head) with the store's reader
key, in its own environment, only while canary.yaml plans a rollout, and its commit pushed
even when it rolled back (read from the YAML, mlops_platform.governance.ci_config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_platform.governance.ci_config import SCHEDULE, ci_jobs
from tests.pipelines.test_ci_credentials import ci_files
from tests.pipelines.test_ci_files import PROJECTS, project_id
from tests.pipelines.test_ci_retraining import STORE_READER, document

PLAN_GUARD = "hashFiles('canary.yaml') != ''"


@pytest.mark.parametrize("case", PROJECTS, ids=project_id)
def test_the_canary_runs_on_the_schedule_at_level_two_as_the_gate(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path]) -> None:
    level, provider = case
    jobs = {job.name: job for job in ci_jobs(ci_files(baked_projects[case]))
            if job.runs("canary")}
    if level != "2":
        assert jobs == {}
        return
    assert set(jobs) == {"canary"}
    job = jobs["canary"]
    assert job.triggers == frozenset({SCHEDULE}) and job.counts
    assert "make canary ENV=prod CURRENT=store" in job.text
    assert job.environment == "canary"
    variables = dict(job.variables)
    assert variables.keys() >= STORE_READER
    gate = "secrets.MLFLOW_GATE_USERNAME }}" if provider == "github" else "$MLFLOW_GATE_USERNAME"
    assert variables["MLFLOW_TRACKING_USERNAME"].endswith(gate)


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_the_canary_runs_only_while_a_plan_exists_and_pushes_a_rollback(
        provider: str, baked_projects: dict[tuple[str, str], Path]) -> None:
    raw = document(ci_files(baked_projects[("2", provider)]), provider)
    if provider == "gitlab":
        job = raw["canary"]
        assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"',
                                 "exists": ["canary.yaml"]}]
        # A rollback fails the script; after_script pushes its commit either way.
        assert job["script"] == ["make canary ENV=prod CURRENT=store"]
        assert [line.split()[:2] for line in job["after_script"]] == [["git", "push"]]
        return
    steps = raw["jobs"]["canary"]["steps"]
    runs = [step for step in steps if "run" in step]
    assert [step["run"].split()[:2] for step in runs] == [["make", "canary"], ["git", "push"]]
    assert runs[0]["if"] == PLAN_GUARD and runs[1]["if"] == f"always() && {PLAN_GUARD}"
    assert all("if" in step for step in steps if "checkout" not in step.get("uses", ""))
