"""A project's GitOps deploy program: deploy/<env>.yaml -> the platform's ModelServing objects."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cookiecutter.main import cookiecutter

from infra.manifests import to_manifests
from infra.mocked_engine import RecordedStack, run_program
from mlops_platform.deploy.manifest import DeploymentManifestError, load_deployment
from mlops_platform.deploy.program import PLATFORM_OUTPUTS_READ, deploy_manifest_file
from tests.infra.test_manifests import KUBERNETES_VERSIONS

PLATFORM_STACK = "acme/mlops-platform/staging"
PLATFORM_OUTPUTS = {
    "namespace": "mlops-serving",
    "tracking_internal_uri": "http://mlflow.mlops-platform.svc.cluster.local:5000",
    "serving_image": "seldonio/mlserver:1.6.1-mlflow",
}


def write_manifest(path: Path, **overrides: Any) -> Path:
    manifest = {
        "environment": "staging",
        "platform_stack": PLATFORM_STACK,
        "models": [{
            "name": "churn-model", "version": 7, "replicas": 2,
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                          "limits": {"cpu": "2", "memory": "2Gi"}},
        }],
        **overrides,
    }
    path.write_text(yaml.safe_dump(manifest))
    return path


def deploy(program, stack: str = "staging") -> RecordedStack:
    return run_program(program, project="churn-serving", stack=stack,
                       stack_references={PLATFORM_STACK: PLATFORM_OUTPUTS})


def objects_of(recorded: RecordedStack, kind: str) -> list[dict[str, Any]]:
    return [m for m in to_manifests(recorded.resources, redact=False) if m["kind"] == kind]


def test_manifest_becomes_the_platforms_serving_objects(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "staging.yaml")
    recorded = deploy(lambda: deploy_manifest_file(path))

    [deployment] = objects_of(recorded, "Deployment")
    assert deployment["metadata"]["namespace"] == PLATFORM_OUTPUTS["namespace"]
    assert deployment["spec"]["replicas"] == 2
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["MLSERVER_MODEL_URI"] == "models:/churn-model/7"
    assert env["MLFLOW_TRACKING_URI"] == PLATFORM_OUTPUTS["tracking_internal_uri"]
    assert container["image"] == PLATFORM_OUTPUTS["serving_image"]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    assert {m["kind"] for m in to_manifests(recorded.resources)} == {
        "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert objects_of(recorded, "ServiceAccount") == [], "the platform owns the ServiceAccount"
    assert set(recorded.outputs["endpoints"]) == {"churn-model"}


def test_the_platform_is_the_stack_the_manifest_names(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "staging.yaml", platform_stack="acme/mlops-platform/prod")
    with pytest.raises(Exception, match="acme/mlops-platform/prod"):
        deploy(lambda: deploy_manifest_file(path))
    assert set(PLATFORM_OUTPUTS) == set(PLATFORM_OUTPUTS_READ)


def test_a_bad_manifest_stops_before_anything_is_created(tmp_path: Path) -> None:
    bad = [{"name": "churn-model", "version": 3, "alias": "champion"}]
    path = write_manifest(tmp_path / "staging.yaml", models=bad)
    with pytest.raises(DeploymentManifestError, match="exactly one of version"):
        load_deployment(path)


@pytest.fixture(scope="module")
def level2_project(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    output = tmp_path_factory.mktemp("baked")
    return Path(cookiecutter(str(repo_root), no_input=True, output_dir=str(output),
                             extra_context={"maturity_level": "2"}))


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_generated_deploy_program_renders_valid_objects(level2_project: Path,
                                                        environment: str) -> None:
    deploy_dir = level2_project / "deploy"
    manifest = load_deployment(deploy_dir / f"{environment}.yaml")
    recorded = run_program(lambda: runpy.run_path(str(deploy_dir / "__main__.py")),
                           project="churn-serving", stack=environment,
                           stack_references={manifest.platform_stack: PLATFORM_OUTPUTS})
    objects = to_manifests(recorded.resources)
    assert len(objects) == 2 * len(manifest.models), "a Deployment and a Service per model"
    for obj in objects:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)
