"""Image references: pinned, each on its own registry or under the default prefix."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from infra.config import IMAGE_KEYS, STACKS, PlatformConfig
from infra.images import ImageRef, parse_image
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import run_stack, stack_settings
from tests.infra.k8s_objects import WORKLOAD_KINDS, containers, of_kind

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(("value", "expected"), [
    ("postgres:16.4-alpine", ImageRef("postgres", "16.4-alpine", None)),
    ("mlops-platform/serving:0.1.0", ImageRef("mlops-platform/serving", "0.1.0", None)),
    (f"chrislusf/seaweedfs:4.22@{DIGEST}", ImageRef("chrislusf/seaweedfs", "4.22", DIGEST)),
    ("reg.example.com/acme/mlflow-server:0.1.0",
     ImageRef("acme/mlflow-server", "0.1.0", None, "reg.example.com")),
    ("localhost:5001/tools:0.1.0", ImageRef("tools", "0.1.0", None, "localhost:5001")),
    ("localhost/tools:0.1.0", ImageRef("tools", "0.1.0", None, "localhost")),
])
def test_a_pinned_reference_parses(value: str, expected: ImageRef) -> None:
    assert parse_image(value) == expected


@pytest.mark.parametrize(("value", "problem"), [
    ("postgres", "no version tag"),
    ("postgres:latest", "'latest'"),
    ("Postgres:16", "repository:tag"),
    ("postgres:16@sha256:abc", "repository:tag"),
    ("postgres:16@sha256:" + "0" * 64, "placeholder digest"),
])
def test_an_unpinned_or_placeholder_reference_is_refused(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_image(value)


def test_an_image_with_its_own_registry_ignores_the_default_prefix() -> None:
    ref = parse_image(f"postgres:16.4-alpine@{DIGEST}")
    assert ref.qualified("") == f"postgres:16.4-alpine@{DIGEST}"
    assert ref.qualified("mirror.example.com/hub") == \
        f"mirror.example.com/hub/postgres:16.4-alpine@{DIGEST}"
    own = parse_image("reg.example.com/acme/mlflow-server:0.1.0")
    assert own.qualified("mirror.example.com/hub") == "reg.example.com/acme/mlflow-server:0.1.0"


def test_pointing_mlflow_at_its_own_registry_leaves_the_others_on_the_mirror() -> None:
    manifests = to_manifests(run_stack("dev", {
        "image_registry": "mirror.example.com/hub",
        "tracking_image": "reg.example.com/acme/mlflow-server:0.1.0"}).resources)
    images = {container["image"] for kind in WORKLOAD_KINDS for workload in
              of_kind(manifests, kind) for container in containers(workload)}
    assert images == {"reg.example.com/acme/mlflow-server:0.1.0",
                      "mirror.example.com/hub/postgres:15.8-alpine",
                      "mirror.example.com/hub/chrislusf/seaweedfs:4.22",
                      "mirror.example.com/hub/prom/pushgateway:v1.11.4",
                      "mirror.example.com/hub/mlops-platform/tools:0.1.0"}


def test_the_defaults_are_the_platforms_own_images_at_the_packages_version(
        repo_root: Path) -> None:
    version = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["version"]
    defaults = {key: PlatformConfig.model_fields[key].default for key in IMAGE_KEYS}
    assert defaults == {
        "tracking_image": f"mlops-platform/mlflow-server:{version}",
        "serving_image": f"mlops-platform/serving:{version}",
        "tools_image": f"mlops-platform/tools:{version}",
        "database_image": "postgres:15.8-alpine",
        "object_store_image": "chrislusf/seaweedfs:4.22",
        "pushgateway_image": "prom/pushgateway:v1.11.4",
    }


def test_every_container_pulls_only_when_the_node_lacks_the_image(
        stack: str, stack_manifests: dict[str, list[dict]]) -> None:
    policies = {container["imagePullPolicy"] for kind in WORKLOAD_KINDS
                for workload in of_kind(stack_manifests[stack], kind)
                for container in containers(workload)}
    assert policies == {"IfNotPresent"}


def test_the_committed_stacks_use_the_default_registry() -> None:
    for stack in STACKS:
        assert stack_settings(stack).get("image_registry", "") == "", stack
