"""GitOps deploy and rollback of deploy/<env>.yaml, against a real registry and a real git repo."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_platform.contract import PlatformOutputs
from mlops_platform.deploy.gitops import main
from mlops_platform.deploy.manifest import load_deployment
from tests.pipelines.registry import register, unique_model_name, write_params

HEADER = "# GitOps: change by pull request.\n"


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def project(tmp_path: Path, shared_platform_outputs_file: Path,
            monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLATFORM_OUTPUTS", str(shared_platform_outputs_file))
    for name, value in {"GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.invalid",
                        "GIT_COMMITTER_NAME": "ci",
                        "GIT_COMMITTER_EMAIL": "ci@example.invalid"}.items():
        monkeypatch.setenv(name, value)
    root = tmp_path / "project"
    write_params(root, unique_model_name("deploy"))
    (root / "deploy").mkdir()
    for env in ("staging", "prod"):
        (root / "deploy" / f"{env}.yaml").write_text(
            f"{HEADER}environment: {env}\nplatform_stack: org/mlops-platform/{env}\nmodels: []\n")
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "project")
    return root


def model_name(project: Path) -> str:
    return (project / "params.yaml").read_text().split("name: ")[1].split()[0]


def served(project: Path, env: str) -> list[tuple[str, int | None, str | None]]:
    manifest = load_deployment(project / "deploy" / f"{env}.yaml")
    return [(model.name, model.version, model.alias) for model in manifest.models]


def test_deploy_pins_the_champions_version_and_commits_it(
        project: Path, shared_platform: PlatformOutputs) -> None:
    name = model_name(project)
    register(shared_platform, name, {"roc_auc": 0.9})
    register(shared_platform, name, {"roc_auc": 0.95}, alias="champion")
    assert main(["deploy", "--project", str(project), "--env", "staging"]) == 0
    assert served(project, "staging") == [(name, 2, None)]
    assert (project / "deploy" / "staging.yaml").read_text().startswith(HEADER)
    assert git(project, "log", "-1", "--format=%s") == f"deploy: {name} version 2 to staging\n"
    assert git(project, "status", "--porcelain") == ""


def test_deploy_again_changes_nothing(project: Path, shared_platform: PlatformOutputs,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    register(shared_platform, model_name(project), {"roc_auc": 0.9}, alias="champion")
    assert main(["deploy", "--project", str(project), "--env", "prod"]) == 0
    commits = git(project, "rev-list", "--count", "HEAD")
    assert main(["deploy", "--project", str(project), "--env", "prod"]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert git(project, "rev-list", "--count", "HEAD") == commits


def test_rollback_restores_the_previous_version_from_git_history(
        project: Path, shared_platform: PlatformOutputs) -> None:
    name = model_name(project)
    register(shared_platform, name, {"roc_auc": 0.9})
    register(shared_platform, name, {"roc_auc": 0.95})
    assert main(["deploy", "--project", str(project), "--env", "prod", "--version", "1"]) == 0
    assert main(["deploy", "--project", str(project), "--env", "prod", "--version", "2"]) == 0
    assert served(project, "prod") == [(name, 2, None)]
    assert main(["rollback", "--project", str(project), "--env", "prod"]) == 0
    assert served(project, "prod") == [(name, 1, None)]
    assert git(project, "log", "-1", "--format=%s") == (
        f"rollback: {name} version 2 -> 1 in prod\n")


def test_rollback_without_an_earlier_version_refuses(
        project: Path, shared_platform: PlatformOutputs,
        capsys: pytest.CaptureFixture[str]) -> None:
    register(shared_platform, model_name(project), {"roc_auc": 0.9})
    assert main(["deploy", "--project", str(project), "--env", "prod", "--version", "1"]) == 0
    before = (project / "deploy" / "prod.yaml").read_text()
    assert main(["rollback", "--project", str(project), "--env", "prod"]) == 2
    assert "nothing to roll back to" in capsys.readouterr().err
    assert (project / "deploy" / "prod.yaml").read_text() == before


def test_an_unknown_version_refuses_and_leaves_the_file(
        project: Path, shared_platform: PlatformOutputs,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "deploy" / "staging.yaml").read_text()
    assert main(["deploy", "--project", str(project), "--env", "staging",
                 "--version", "7"]) == 2
    assert "has no version 7" in capsys.readouterr().err
    assert (project / "deploy" / "staging.yaml").read_text() == before


def test_a_missing_manifest_names_the_file(project: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--project", str(project), "--env", "dev"]) == 2
    assert "deploy/dev.yaml does not exist" in capsys.readouterr().err
