"""checkov over every stack's rendered manifests: 0 failed checks, each skip with its reason.

checkov needs packages older than the main environment's, so it runs from its own
virtual environment, built from `requirements/checkov.txt` by the Makefile.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.config import STACKS
from mlops_platform.deploy.manifest import DeploymentManifest
from mlops_platform.deploy.program import deploy_manifest
from mlops_platform.local_cluster.manifests import (
    manifest_file_names,
    to_manifests,
    write_stack_manifests,
)
from mlops_platform.local_cluster.mocked_engine import run_program, run_stack
from tests.deploy.test_project_deployment import WATCHED_MODEL
from tests.infra.stacks import pinned_images
from tests.support.built import built_environment

# checkov starts in a process of its own for each stack: seconds per test.
pytestmark = pytest.mark.slow

SKIP_LINE = re.compile(r"^(?P<check>CKV2?_K8S_\d+): (?P<reason>.{40,})$")


def skipped_checks(repo_root: Path) -> dict[str, str]:
    lines = (repo_root / "policies" / "checkov-skips.txt").read_text().splitlines()
    entries = [line for line in lines if line.strip() and not line.startswith("#")]
    skips = {}
    for line in entries:
        match = SKIP_LINE.match(line)
        assert match, f"checkov-skips.txt: {line!r} is not `<check id>: <reason of 40+ chars>`"
        skips[match["check"]] = match["reason"]
    return skips


@pytest.fixture(scope="module")
def checkov(repo_root: Path) -> Path:
    return built_environment("checkov") / "checkov"


def run_checkov(checkov: Path, directory: Path, skips: list[str]) -> dict:
    completed = subprocess.run(
        [str(checkov), "--directory", str(directory), "--framework", "kubernetes",
         "--skip-download", "--quiet", "--compact", "--output", "json",
         *(["--skip-check", ",".join(skips)] if skips else [])],
        capture_output=True, text=True, timeout=120, check=False)
    assert completed.stdout.strip(), completed.stderr
    report = json.loads(completed.stdout)
    return report[0] if isinstance(report, list) else report


def test_every_check_passes_on_every_stack(checkov: Path, repo_root: Path,
                                           tmp_path: Path) -> None:
    for stack in STACKS:
        write_stack_manifests(stack, tmp_path, pinned_images(stack))
    # The committed stacks scrape by annotations; prod also as prometheus-operator's objects.
    write_stack_manifests("prod", tmp_path / "operator",
                          {**pinned_images("prod"), "scrape_mode": "operator"})
    report = run_checkov(checkov, tmp_path, list(skipped_checks(repo_root)))
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})"
              for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 1000


def test_each_skipped_check_would_fail_without_the_skip(checkov: Path, repo_root: Path,
                                                        tmp_path: Path) -> None:
    """A skip that nothing needs is a stale exception: remove it."""
    for stack in ("prod", "dev"):
        write_stack_manifests(stack, tmp_path, pinned_images(stack))
    report = run_checkov(checkov, tmp_path, [])
    failing = {check["check_id"] for check in report["results"]["failed_checks"]}
    assert failing == set(skipped_checks(repo_root))


def test_every_check_passes_on_a_project_deployment(checkov: Path, repo_root: Path,
                                                    tmp_path: Path) -> None:
    """A project's prod model with its log shipper and drift CronJob, as the platform's,
    beside the platform's objects (its NetworkPolicies are the ones that select them)."""
    platform = run_stack("prod", pinned_images("prod"))
    write_stack_manifests("prod", tmp_path, pinned_images("prod"))
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    manifest = DeploymentManifest(
        environment="prod", platform_stack="acme/mlops-platform/prod",
        models=[{**WATCHED_MODEL, "replicas": 2, "approved_by": "alice"}])
    recorded = run_program(lambda: deploy_manifest(manifest), project="churn-serving",
                           stack="prod",
                           stack_references={manifest.platform_stack: platform.outputs})
    manifests = to_manifests(recorded.resources)
    assert {"Deployment", "CronJob"} <= {m["kind"] for m in manifests}
    for manifest_object, name in zip(manifests, manifest_file_names(manifests), strict=True):
        (project_dir / name).write_text(yaml.safe_dump(manifest_object, sort_keys=False))
    report = run_checkov(checkov, tmp_path, list(skipped_checks(repo_root)))
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert failed == []
    # Read alone, the project's objects lack only the platform's NetworkPolicies.
    alone = run_checkov(checkov, project_dir, list(skipped_checks(repo_root)))
    assert {c["check_id"] for c in alone["results"]["failed_checks"]} == {"CKV2_K8S_6"}
