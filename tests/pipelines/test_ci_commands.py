"""What a project's CI runs on a pull request, read from its CI file, runs locally and passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_platform.ci.ci_commands import main, pull_request_commands
from mlops_platform.contract import PlatformOutputs
from tests.template.baking import LEVELS, PROVIDERS

VENV = Path(sys.executable).parent.parent
EXPECTED = {
    "0": ["make lint test check"],
    "1": ["make lint test check", "make kfp-check", "make pipeline-sample", "make metrics-diff",
          ".venv/bin/python -m mlops_platform.ci.pr_comment reports/sample/metrics_diff.md"],
}
EXPECTED["2"] = EXPECTED["1"]
# Variables through which a command would find a real pull request to comment on.
CI_CONTEXT = ("GITHUB_", "CI_", "MLOPS_GITLAB_TOKEN")


def write_workflow(project: Path, text: str) -> None:
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(text)


def test_github_jobs_run_in_needs_order_and_only_on_pull_requests(tmp_path: Path) -> None:
    write_workflow(tmp_path, """
on: [pull_request, push]
jobs:
  second:
    needs: first
    runs-on: ubuntu-22.04
    steps: [{uses: actions/checkout@abc}, {run: make two}]
  first:
    runs-on: ubuntu-22.04
    steps: [{run: make one}, {run: make one-more}]
  main-only:
    if: github.event_name == 'push'
    runs-on: ubuntu-22.04
    steps: [{run: make deploy}]
""")
    assert pull_request_commands(tmp_path) == ["make one", "make one-more", "make two"]


def test_gitlab_jobs_run_in_stage_order_and_only_on_merge_requests(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("""
stages: [check, pipeline]
late:
  stage: pipeline
  rules: [{if: '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
  script: [make late]
early:
  stage: check
  rules: [{if: '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
  script: make early
scheduled:
  stage: check
  rules: [{if: '$CI_PIPELINE_SOURCE == "schedule"'}]
  script: [make retrain]
""")
    assert pull_request_commands(tmp_path) == ["make early", "make late"]


@pytest.mark.parametrize("level", LEVELS)
def test_both_providers_run_the_same_commands_on_a_pull_request(
        level: str, baked_projects: dict[tuple[str, str], Path]) -> None:
    for provider in PROVIDERS:
        assert pull_request_commands(baked_projects[level, provider]) == EXPECTED[level], provider


def test_the_cli_prints_the_commands_one_per_line(
        baked_projects: dict[tuple[str, str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(baked_projects["1", "github"])]) == 0
    assert capsys.readouterr().out.splitlines() == EXPECTED["1"]


def local_ci_environment(outputs_file: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(CI_CONTEXT)}
    return {**env, "VENV": str(VENV), "PLATFORM_OUTPUTS": str(outputs_file)}


def run_as_ci(project: Path, command: str, env: dict[str, str]) -> None:
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", command], cwd=project, env=env,
                            capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, (f"`{command}` failed in {project}:\n"
                                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


def as_on_main(project: Path, level: str, env: dict[str, str]) -> None:
    """Where a pull request starts from: main has trained, and a champion passed the gate
    (at level 0 by hand, at level 2 after an approval); before that no level can be met."""
    run_as_ci(project, "make pipeline", env)
    if level == "2":
        run_as_ci(project, "make approve APPROVER=release-reviewer", env)
    if level != "1":
        run_as_ci(project, "make promote", env)


# Both providers run the same commands (test_both_providers_run_the_same_commands_on_a_pull_
# request), so each level runs them once, from the two providers' projects in turn.
PULL_REQUEST_RUNS = [(level, PROVIDERS[index % len(PROVIDERS)])
                     for index, level in enumerate(LEVELS)]


@pytest.mark.slow
@pytest.mark.parametrize("case", PULL_REQUEST_RUNS, ids=lambda case: f"level{case[0]}-{case[1]}")
def test_pull_request_commands_pass_locally_against_the_platform(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path],
        shared_platform: PlatformOutputs, shared_platform_outputs_file: Path) -> None:
    project = baked_projects[case]
    # What the CI's setup step (shared action / job template: `make venv`) leaves behind.
    (project / ".venv").symlink_to(VENV, target_is_directory=True)
    env = local_ci_environment(shared_platform_outputs_file)
    as_on_main(project, case[0], env)
    commands = pull_request_commands(project)
    for command in commands:
        run_as_ci(project, command, env)
    if "make metrics-diff" in commands:
        diff = (project / "reports" / "sample" / "metrics_diff.md").read_text()
        assert "| **roc_auc** |" in diff
