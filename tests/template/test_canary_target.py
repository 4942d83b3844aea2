"""A baked level-2 project's `make canary`: idle where nothing is served, one step
of the rollout judged on a real Prometheus, committed to deploy/prod.yaml with its audit
record (the platform's canary, tests/canary, through the project's Makefile and module)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_platform import contract as ml_contract
from mlops_platform.contract import PlatformOutputs
from mlops_platform.deploy.manifest import load_deployment
from mlops_platform.governance import audit_log
from tests.canary.test_canary import NAMES, prometheus
from tests.pipelines.registry import register
from tests.support.prometheus import Prometheus
from tests.template.baking import bake, make

__all__ = ["prometheus"]  # the canary tests' Prometheus, shared

pytestmark = pytest.mark.slow

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.invalid",
                "GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@example.invalid"}


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_platform: PlatformOutputs,
            shared_platform_outputs_file: Path) -> Iterator[Path]:
    """A level-2 project of the canary tests' steady model, its champion and a challenger
    registered; prod serves the champion alone."""
    saved = {name: os.environ.get(name) for name in GIT_IDENTITY}
    os.environ.update(GIT_IDENTITY)
    name = NAMES["steady"]
    champion = register(shared_platform, name, {"roc_auc": 0.9}, alias="champion")
    challenger = register(shared_platform, name, {"roc_auc": 0.91})
    project = bake(tmp_path_factory.mktemp("canary"), maturity_level="2", model_name=name,
                   platform_outputs=str(shared_platform_outputs_file))
    manifest = project / "deploy" / "prod.yaml"
    manifest.write_text(manifest.read_text().replace("models: []", (
        f"models:\n  - name: {name}\n    version: {champion}\n    replicas: 2\n"
        f"    approved_by: release-manager\n")))
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "prod serves the champion")
    yield project, challenger
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_where_nothing_is_served_the_canary_is_idle(project, prometheus: Prometheus) -> None:
    root, _ = project
    result = make(root, "canary", "ENV=staging", f"PROMETHEUS={prometheus.url}")
    assert "IDLE: deploy/staging.yaml declares no served version" in result.stdout
    assert git(root, "status", "--porcelain") == ""


def declare_challenger(root: Path, challenger: str) -> Path:
    """Prod's manifest with the challenger at the first step, committed (once)."""
    manifest = root / "deploy" / "prod.yaml"
    if "challenger:" not in manifest.read_text():
        manifest.write_text(manifest.read_text() + (
            f"    challenger: {{version: {challenger}, weight: 0.05}}\n"))
        git(root, "commit", "--quiet", "-am", "canary: start")
    return manifest


def test_a_declared_challenger_steps_up_in_a_commit_and_an_audit_record(
        project, prometheus: Prometheus) -> None:
    root, challenger = project
    manifest = declare_challenger(root, challenger)
    result = make(root, "canary", "ENV=prod", f"PROMETHEUS={prometheus.url}")
    assert "STEP: the challenger kept every bound" in result.stdout, result.stdout
    (model,) = load_deployment(manifest).models
    assert (model.challenger.version, model.challenger.weight) == (int(challenger), 0.25)
    assert git(root, "log", "-1", "--format=%s").startswith(f"canary: {NAMES['steady']}")
    assert git(root, "status", "--porcelain") == ""
    last = audit_log.read(root / ml_contract.AUDIT_LOG_FILE)[-1]
    assert (last["action"], last["outcome"]) == ("canary", "stepped")


def test_an_unreachable_prometheus_is_a_clear_error(project) -> None:
    root, challenger = project
    declare_challenger(root, challenger)
    result = make(root, "canary", "ENV=prod", "PROMETHEUS=http://127.0.0.1:9", check=False)
    assert "canary] Error 2" in result.stderr
    assert "did not answer" in result.stderr and "--prometheus" in result.stderr
