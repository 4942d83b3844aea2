"""`make manifests`: every object of every stack, as YAML that Kubernetes 1.29 and 1.33 accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from infra.config import STACKS
from mlops_platform.local_cluster.manifests import main, manifest_file_names, write_stack_manifests
from mlops_platform.local_cluster.mocked_engine import MOCK_PASSWORD, SECRET_PLACEHOLDER
from tests.infra.stacks import pinned_images

KUBERNETES_VERSIONS = ("1.29", "1.33")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("manifests")
    for stack in STACKS:
        write_stack_manifests(stack, output, pinned_images(stack))
    return output


def test_make_manifests_writes_dev_and_staging_and_refuses_prod_naming_the_missing_digests(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "deployment-stale.yaml").write_text("kind: Deployment\n")
    assert main(list(STACKS), output_dir=tmp_path) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        'prod: stack config mlops-platform:tracking_image = "mlops-platform/mlflow-server:0.1.0" '
        "is not pinned by digest while require_image_digests is true (nor are "
        "database_image, object_store_image, serving_image, tools_image, pushgateway_image); "
        "append the digest your registry serves, from `crane digest <registry>/<image>:<tag>` "
        "or the image release workflow's pull request\n")
    assert "dev: " in captured.out and "staging: " in captured.out
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dev", "staging"]


@pytest.mark.slow  # kubernetes-validate loads each version's schemas: seconds per stack
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_of_every_stack_validates_strictly(
        version: str, stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    assert len(manifests) >= 40
    for manifest in manifests:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_strict_validation_catches_a_typo() -> None:
    manifest = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                "spec": {"selector": {"a": "b"}, "ports": [{"port": 80, "targetport": 8080}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSIONS[0], strict=True)


def test_one_file_per_object_named_kind_and_name(
        rendered: Path, stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    files = sorted(path.name for path in (rendered / stack).glob("*.yaml"))
    assert files == sorted(manifest_file_names(stack_manifests[stack]))
    assert len(files) == len(stack_manifests[stack])
    deployment = yaml.safe_load((rendered / stack / "deployment-mlflow.yaml").read_text())
    assert list(deployment)[:3] == ["apiVersion", "kind", "metadata"]
    assert deployment["spec"]["replicas"] == {"dev": 1, "staging": 2, "prod": 3}[stack]


def test_the_files_hold_no_secret_value(rendered: Path) -> None:
    texts = [path.read_text() for path in rendered.rglob("*.yaml")]
    assert not any(MOCK_PASSWORD in text for text in texts)
    secret = yaml.safe_load((rendered / "dev" / "secret-postgres-credentials.yaml").read_text())
    assert secret["stringData"]["POSTGRES_PASSWORD"] == SECRET_PLACEHOLDER


def test_names_shared_across_namespaces_get_the_namespace() -> None:
    manifests = [{"kind": "NetworkPolicy", "metadata": {"name": "default-deny", "namespace": ns}}
                 for ns in ("a", "b")] + [{"kind": "Service", "metadata": {"name": "mlflow",
                                                                          "namespace": "a"}}]
    assert manifest_file_names(manifests) == ["networkpolicy-a-default-deny.yaml",
                                              "networkpolicy-b-default-deny.yaml",
                                              "service-mlflow.yaml"]


def test_a_rerun_replaces_stale_files(tmp_path: Path) -> None:
    stale = tmp_path / "dev" / "deployment-gone.yaml"
    stale.parent.mkdir()
    stale.write_text("kind: Deployment\n")
    assert main(["dev"], output_dir=tmp_path) == 0
    assert not stale.exists()


def test_an_unknown_stack_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["qa"], output_dir=tmp_path) == 2
    assert "no stack file for qa" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
