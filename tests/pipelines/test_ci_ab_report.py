"""What a generated project's CI runs of A/B testing: at level 2, on the schedule, `make
ab-report CURRENT=store` with the store's reader key only, and only while ab_test.yaml plans a
test (read from the YAML with its semantics, mlops_platform.governance.ci_config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_platform.governance.ci_config import SCHEDULE, ci_jobs
from tests.pipelines.test_ci_credentials import ci_files
from tests.pipelines.test_ci_files import PROJECTS, project_id
from tests.pipelines.test_ci_retraining import STORE_READER, document

PLAN_GUARD = "hashFiles('ab_test.yaml') != ''"


@pytest.mark.parametrize("case", PROJECTS, ids=project_id)
def test_the_ab_report_runs_on_the_schedule_at_level_two(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path]) -> None:
    level, _ = case
    files = ci_files(baked_projects[case])
    jobs = {job.name: job for job in ci_jobs(files) if job.runs("ab-report")}
    if level != "2":
        assert jobs == {}
        return
    assert set(jobs) == {"ab-report"}
    job = jobs["ab-report"]
    assert job.triggers == frozenset({SCHEDULE}) and job.counts
    assert "make ab-report CURRENT=store" in job.text
    assert dict(job.variables).keys() == STORE_READER
    assert job.environment is None


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_the_ab_report_runs_only_while_a_plan_exists(
        provider: str, baked_projects: dict[tuple[str, str], Path]) -> None:
    raw = document(ci_files(baked_projects[("2", provider)]), provider)
    if provider == "gitlab":
        assert raw["ab-report"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"',
                                              "exists": ["ab_test.yaml"]}]
        return
    steps = raw["jobs"]["ab-report"]["steps"]
    guarded = [step for step in steps if step.get("if") == PLAN_GUARD]
    assert [step.get("run") for step in guarded] == [None, "make ab-report CURRENT=store"]
    assert all("if" in step for step in steps if "checkout" not in step.get("uses", ""))
