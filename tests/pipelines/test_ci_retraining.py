"""What a generated project's CI retrains on, per level and provider: level 1 on every
schedule; level 2 only on the scheduled drift check's verdict `retrain` (its exit 1), read
from the artifact store, with a red job and no retraining when the check could not decide;
level 2's retrain trains on the labelled served rows from the store and commits that data
version.

The verdict's plumbing is run for real where it is shell (GitLab's skip line); the rest is
read from the YAML with its semantics (mlops_platform.governance.ci_config)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_platform.ci.verdict import HEALTHY, RETRAIN, VERDICT_KEY
from mlops_platform.governance.ci_config import SCHEDULE, CiJob, ci_jobs
from tests.pipelines.ci_tools import REPO_ROOT
from tests.pipelines.test_ci_credentials import ci_files
from tests.pipelines.test_ci_files import PROJECTS, project_id

SHARED_GITLAB = REPO_ROOT / "pipelines" / "gitlab" / "ml-project.yml"
GITHUB_CI = ".github/workflows/ci.yml"
GITLAB_CI = ".gitlab-ci.yml"
STORE_READER = {"MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def scheduled(files: dict[str, str]) -> dict[str, CiJob]:
    """The scheduled jobs that check for drift or retrain (GitHub's checks run on every event)."""
    return {job.name: job for job in ci_jobs(files) if SCHEDULE in job.triggers
            and (job.runs("drift") or job.runs("retrain"))}


def document(files: dict[str, str], provider: str) -> dict[str, Any]:
    return yaml.safe_load(files[GITHUB_CI if provider == "github" else GITLAB_CI])


def shared_gitlab() -> dict[str, Any]:
    return yaml.safe_load(SHARED_GITLAB.read_text())


@pytest.mark.parametrize("case", PROJECTS, ids=project_id)
def test_what_runs_on_the_schedule(case: tuple[str, str],
                                   baked_projects: dict[tuple[str, str], Path]) -> None:
    level, _ = case
    jobs = scheduled(ci_files(baked_projects[case]))
    expected = {"0": set(), "1": {"retrain"}, "2": {"drift", "retrain"}}[level]
    assert set(jobs) == expected
    if level != "0":
        assert jobs["retrain"].runs("retrain") and jobs["retrain"].counts
    if level == "2":
        drift = jobs["drift"]
        assert drift.counts, "a check that could not decide fails the pipeline"
        assert drift.runs("drift")
        assert "make drift CURRENT=store VERDICT=" in drift.text
        assert dict(drift.variables).keys() >= STORE_READER
        # The store's reader key, never the registry's write identities.
        assert not any("WRITER" in value or "GATE" in value
                       for _, value in drift.variables)
        assert drift.environment is None


@pytest.mark.parametrize("level", ["1", "2"])
def test_github_retrains_only_on_the_verdict_retrain(
        level: str, baked_projects: dict[tuple[str, str], Path]) -> None:
    jobs = document(ci_files(baked_projects[(level, "github")]), "github")["jobs"]
    retrain = jobs["retrain"]
    if level == "1":  # continuous training: every scheduled run
        assert retrain["if"] == "github.event_name == 'schedule'"
        assert "needs" not in retrain
        return
    assert retrain["needs"] == "drift"
    # No always(): a failed (could-not-check) drift job skips it.
    assert retrain["if"] == (f"github.event_name == 'schedule' && "
                             f"needs.drift.outputs.verdict == '{RETRAIN}'")
    drift = jobs["drift"]
    [check] = [step for step in drift["steps"] if step.get("id") == "check"]
    assert check["run"] == 'make drift CURRENT=store VERDICT="$GITHUB_OUTPUT"'
    assert drift["outputs"]["verdict"] == f"${{{{ steps.check.outputs.{VERDICT_KEY} }}}}"
    assert "continue-on-error" not in drift and "continue-on-error" not in check
    assert drift["env"]["AWS_ACCESS_KEY_ID"] == (
        "${{ secrets.MLOPS_STORE_READER_ACCESS_KEY_ID }}")
    # It learns from production: the labelled rows from the store, then the commit of what it
    # trained on, pushed.
    assert [step["run"] for step in retrain["steps"] if "run" in step] == [
        "make retrain CURRENT=store", "make commit-retrain",
        'git push origin "HEAD:$GITHUB_REF_NAME"']
    assert retrain["env"].keys() >= STORE_READER
    assert retrain["env"]["AWS_ACCESS_KEY_ID"] == drift["env"]["AWS_ACCESS_KEY_ID"]
    assert retrain["permissions"] == {"contents": "write"}


@pytest.mark.parametrize("level", ["1", "2"])
def test_gitlab_retrains_only_on_the_verdict_retrain(
        level: str, baked_projects: dict[tuple[str, str], Path]) -> None:
    pipeline = document(ci_files(baked_projects[(level, "gitlab")]), "gitlab")
    retrain = pipeline["retrain"]
    assert [rule.get("when", "on_success") for rule in retrain["rules"]] == ["on_success"]
    if level == "1":
        assert retrain["extends"] == ".mlops-project"
        assert "needs" not in retrain
        return
    assert retrain["extends"] == ".mlops-on-retrain-verdict"
    assert retrain["needs"] == ["drift"]
    drift = pipeline["drift"]
    assert drift["extends"] == ".mlops-drift-verdict"
    assert "allow_failure" not in drift
    [check] = [line for line in drift["script"] if line.startswith("make drift")]
    dotenv = shared_gitlab()[".mlops-drift-verdict"]["artifacts"]["reports"]["dotenv"]
    assert check == f"make drift CURRENT=store VERDICT={dotenv}"
    assert retrain["script"][:2] == ["make retrain CURRENT=store", "make commit-retrain"]
    assert retrain["script"][2].startswith("git push ") and retrain["script"][2].endswith(
        '"HEAD:${CI_COMMIT_BRANCH}"')
    assert retrain["variables"].keys() >= STORE_READER
    assert retrain["variables"]["AWS_ACCESS_KEY_ID"] == drift["variables"]["AWS_ACCESS_KEY_ID"]


def test_the_shared_gitlab_templates_build_on_the_project_template() -> None:
    shared = shared_gitlab()
    for name in (".mlops-drift-verdict", ".mlops-on-retrain-verdict"):
        assert shared[name]["extends"] == ".mlops-project"
    # The verdict job keeps the project template's environment set-up after its skip line.
    assert shared[".mlops-on-retrain-verdict"]["before_script"][1:] == (
        shared[".mlops-project"]["before_script"])


@pytest.mark.parametrize(("verdict", "goes_on"), [(RETRAIN, True), (HEALTHY, False),
                                                  (None, False)],
                         ids=["retrain", "healthy", "no-verdict"])
def test_gitlabs_retrain_job_ends_green_at_once_unless_the_verdict_is_retrain(
        verdict: str | None, goes_on: bool) -> None:
    skip_line = shared_gitlab()[".mlops-on-retrain-verdict"]["before_script"][0]
    env = {"PATH": "/usr/bin:/bin", **({VERDICT_KEY: verdict} if verdict else {})}
    # One shell, as GitLab runs before_script and script together.
    ran = subprocess.run(["bash", "-ec", f"{skip_line}\necho BUILDING"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert ran.returncode == 0
    assert ("BUILDING" in ran.stdout) == goes_on
    if not goes_on:
        assert f"verdict {verdict or 'missing'}, not retrain" in ran.stdout
