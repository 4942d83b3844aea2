"""GitOps deploy and rollback of deploy/<env>.yaml, against a real registry and a real git repo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_platform.contract import PlatformOutputs
from mlops_platform.deploy.gitops import main
from mlops_platform.deploy.manifest import load_deployment
from mlops_platform.governance.approvals import TAG_APPROVAL_RECORD
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


def approve(platform: PlatformOutputs, name: str, version: str, approver: str,
            bound_to: str | None = None) -> str:
    """The approval binding `mlops-policy approve` leaves on a version (bound to `bound_to`)."""
    binding = {"version": bound_to or version, "approver": approver, "source": "github-actions",
               "record": "1:abc"}
    MlflowClient(platform.tracking_uri).set_model_version_tag(
        name, version, TAG_APPROVAL_RECORD, json.dumps(binding))
    return version


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
    name = model_name(project)
    approve(shared_platform, name,
            register(shared_platform, name, {"roc_auc": 0.9}, alias="champion"), "alice")
    assert main(["deploy", "--project", str(project), "--env", "prod"]) == 0
    commits = git(project, "rev-list", "--count", "HEAD")
    assert main(["deploy", "--project", str(project), "--env", "prod"]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert git(project, "rev-list", "--count", "HEAD") == commits


def test_rollback_restores_the_previous_version_from_git_history(
        project: Path, shared_platform: PlatformOutputs) -> None:
    name = model_name(project)
    approve(shared_platform, name, register(shared_platform, name, {"roc_auc": 0.9}), "alice")
    approve(shared_platform, name, register(shared_platform, name, {"roc_auc": 0.95}), "bob")
    assert main(["deploy", "--project", str(project), "--env", "prod", "--version", "1"]) == 0
    assert main(["deploy", "--project", str(project), "--env", "prod", "--version", "2"]) == 0
    assert served(project, "prod") == [(name, 2, None)]
    assert approvers(project, "prod") == [("bob", 2)]
    assert main(["rollback", "--project", str(project), "--env", "prod"]) == 0
    assert served(project, "prod") == [(name, 1, None)]
    assert approvers(project, "prod") == [("alice", 2)], "the older version's own approver"
    assert git(project, "log", "-1", "--format=%s") == (
        f"rollback: {name} version 2 -> 1 in prod\n")


def test_rollback_without_an_earlier_version_refuses(
        project: Path, shared_platform: PlatformOutputs,
        capsys: pytest.CaptureFixture[str]) -> None:
    approve(shared_platform, model_name(project),
            register(shared_platform, model_name(project), {"roc_auc": 0.9}), "alice")
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


def approvers(project: Path, env: str) -> list[tuple[str | None, int]]:
    manifest = load_deployment(project / "deploy" / f"{env}.yaml")
    return [(model.approved_by, model.replicas) for model in manifest.models]


def test_prod_gets_the_approver_and_the_replicas_its_pack_demands(
        project: Path, shared_platform: PlatformOutputs) -> None:
    name = model_name(project)
    approve(shared_platform, name, register(shared_platform, name, {"roc_auc": 0.9}), "alice")
    assert main(["deploy", "--project", str(project), "--env", "prod", "--version", "1"]) == 0
    assert main(["deploy", "--project", str(project), "--env", "staging", "--version", "1"]) == 0
    assert approvers(project, "prod") == [("alice", 2)]
    assert approvers(project, "staging") == [("alice", 1)]


@pytest.mark.parametrize("bound_to", [None, "1"], ids=["no-approval", "approval-of-another"])
def test_prod_refuses_a_version_without_its_own_approval(
        project: Path, shared_platform: PlatformOutputs, bound_to: str | None,
        capsys: pytest.CaptureFixture[str]) -> None:
    name = model_name(project)
    register(shared_platform, name, {"roc_auc": 0.9})
    second = register(shared_platform, name, {"roc_auc": 0.95})
    if bound_to:
        approve(shared_platform, name, second, "alice", bound_to=bound_to)
    before = (project / "deploy" / "prod.yaml").read_text()
    assert main(["deploy", "--project", str(project), "--env", "prod", "--version", "2"]) == 2
    assert f"version 2 of {name!r} has no recorded approval" in capsys.readouterr().err
    assert (project / "deploy" / "prod.yaml").read_text() == before
