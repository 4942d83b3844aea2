"""A project's GitOps deploy program: deploy/<env>.yaml -> the platform's ModelServing objects."""

from __future__ import annotations

import runpy
from itertools import pairwise
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cookiecutter.main import cookiecutter

from mlops_platform.deploy.manifest import DeploymentManifestError, load_deployment
from mlops_platform.deploy.program import PLATFORM_OUTPUTS_READ, deploy_manifest_file
from mlops_platform.kubernetes.topology import OBJECT_STORE, PUSHGATEWAY
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import (
    SECRET_SIGNATURE,
    SECRET_SIGNATURE_VALUE,
    RecordedStack,
    run_program,
    run_stack,
    unwrap_secrets,
)
from mlops_platform.monitoring.catalog import PUSHGATEWAY_ENV
from tests.infra.k8s_objects import (
    container_named,
    containers,
    env_of,
    named,
    pod_template,
    secret_ref,
    selects,
)
from tests.infra.test_manifests import KUBERNETES_VERSIONS

PLATFORM_STACK = "acme/mlops-platform/staging"
PLATFORM_OUTPUTS = {
    "namespace": "mlops-serving",
    "tracking_internal_uri": "http://mlflow.mlops-platform.svc.cluster.local:5000",
    "serving_image": "seldonio/mlserver:1.6.1-mlflow",
    "tools_image": "mlops-platform/tools:0.1.0",
    "artifact_store_endpoint": "http://object-store.mlops-platform.svc.cluster.local:8333",
    "artifact_bucket": "mlflow-artifacts",
    "prediction_log_ship_seconds": 60.0,
    "pushgateway_url": "http://pushgateway.mlops-platform.svc.cluster.local:9091",
}


WATCHED_MODEL = {"name": "churn-model", "version": 7, "drift": {
    "reference": "s3://mlflow/monitoring/churn-model/reference.parquet",
    "current": "s3://mlflow/monitoring/churn-model/served/", "schedule": "*/30 * * * *"}}


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
    container = container_named(deployment, "mlserver")
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


@pytest.fixture(scope="module")
def platform() -> RecordedStack:
    """The dev platform with no model of its own: every shipper is then a project's."""
    return run_stack("dev")


def test_the_platform_exports_every_output_a_project_reads(platform: RecordedStack) -> None:
    missing = set(PLATFORM_OUTPUTS_READ) - set(platform.outputs)
    assert not missing, f"a project's deploy program reads {sorted(missing)}, never exported"


@pytest.fixture(scope="module")
def project_on_platform(platform: RecordedStack,
                        tmp_path_factory: pytest.TempPathFactory) -> RecordedStack:
    path = write_manifest(tmp_path_factory.mktemp("deploy") / "dev.yaml", environment="dev",
                          models=[WATCHED_MODEL])
    return run_program(lambda: deploy_manifest_file(path), project="churn-serving", stack="dev",
                       stack_references={PLATFORM_STACK: platform.outputs})


def test_a_project_model_ships_its_log_under_its_own_prefixes(
        platform: RecordedStack, project_on_platform: RecordedStack) -> None:
    [deployment] = objects_of(project_on_platform, "Deployment")
    shipper = container_named(deployment, "log-shipper")
    command = shipper["command"]
    flags = {flag: value for flag, value in pairwise(command)
             if flag.startswith("--")}
    assert flags["--prefix"] == "monitoring/churn-model/served"
    assert flags["--labels-prefix"] == "monitoring/churn-model/labels"
    assert flags["--bucket"] == platform.outputs["artifact_bucket"]
    assert flags["--endpoint-url"] == platform.outputs["artifact_store_endpoint"]
    assert flags["--interval"] == f"{platform.outputs['prediction_log_ship_seconds']:g}"
    assert shipper["image"] == platform.outputs["tools_image"]


def test_a_project_shipper_uses_the_platforms_secret_of_secret_values(
        platform: RecordedStack, project_on_platform: RecordedStack) -> None:
    [deployment] = objects_of(project_on_platform, "Deployment")
    [source] = container_named(deployment, "log-shipper")["envFrom"]
    namespace = deployment["metadata"]["namespace"]
    [secret] = [r for r in platform.of_type("kubernetes:core/v1:Secret")
                if r.inputs["metadata"] == {**r.inputs["metadata"],
                                            "name": source["secretRef"]["name"],
                                            "namespace": namespace}]
    values = secret.inputs["stringData"]
    # The engine sends the whole map as one secret once any value of it is secret.
    assert values.get(SECRET_SIGNATURE) == SECRET_SIGNATURE_VALUE, "the key pair is a secret"
    assert set(unwrap_secrets(values)) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert objects_of(project_on_platform, "Secret") == [], "the project writes no credential"


def test_the_platforms_network_policies_let_a_project_shipper_reach_the_store(
        platform: RecordedStack, project_on_platform: RecordedStack) -> None:
    [deployment] = objects_of(project_on_platform, "Deployment")
    namespace = deployment["metadata"]["namespace"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    store = {"protocol": "TCP", "port": OBJECT_STORE.port}
    egress = [rule for policy in objects_of(platform, "NetworkPolicy")
              if policy["metadata"]["namespace"] == namespace
              and selects(policy["spec"]["podSelector"].get("matchLabels", {}), pod_labels)
              for rule in policy["spec"].get("egress", [])]
    assert any(store in rule["ports"] and any(
        selects(peer.get("podSelector", {}).get("matchLabels", {}), OBJECT_STORE.labels)
        for peer in rule["to"]) for rule in egress)


def test_a_project_model_gets_the_platforms_drift_check_beside_it(
        platform: RecordedStack, project_on_platform: RecordedStack) -> None:
    [deployment] = objects_of(project_on_platform, "Deployment")
    namespace = deployment["metadata"]["namespace"]
    job = named(objects_of(project_on_platform, "CronJob"), "CronJob", "churn-model-drift",
                namespace)
    assert job["spec"]["schedule"] == "*/30 * * * *"
    [container] = containers(job)
    assert container["command"] == [
        "mlops-drift", "--reference", WATCHED_MODEL["drift"]["reference"],
        "--current", WATCHED_MODEL["drift"]["current"],
        "--report-dir", f"s3://{platform.outputs['artifact_bucket']}/monitoring/churn-model/reports",
        "--model", "churn-model"]
    env = env_of(container)
    shippers_secret = container_named(deployment, "log-shipper")["envFrom"][0]["secretRef"]["name"]
    assert env["AWS_SECRET_ACCESS_KEY"] == secret_ref(shippers_secret, "AWS_SECRET_ACCESS_KEY")
    assert env["AWS_ENDPOINT_URL"] == platform.outputs["artifact_store_endpoint"]
    assert env[PUSHGATEWAY_ENV] == platform.outputs["pushgateway_url"]


def test_the_platforms_network_policies_let_a_project_drift_check_reach_store_and_gateway(
        platform: RecordedStack, project_on_platform: RecordedStack) -> None:
    [job] = objects_of(project_on_platform, "CronJob")
    pod_labels = pod_template(job)["metadata"]["labels"]
    egress = [rule for policy in objects_of(platform, "NetworkPolicy")
              if policy["metadata"]["namespace"] == job["metadata"]["namespace"]
              and selects(policy["spec"]["podSelector"].get("matchLabels", {}), pod_labels)
              for rule in policy["spec"].get("egress", [])]
    for part in (OBJECT_STORE, PUSHGATEWAY):
        assert any({"protocol": "TCP", "port": part.port} in rule["ports"] and any(
            selects(peer.get("podSelector", {}).get("matchLabels", {}), part.labels)
            for peer in rule["to"]) for rule in egress), part.name


def test_a_project_deployment_passes_strict_validation(
        project_on_platform: RecordedStack) -> None:
    objects = to_manifests(project_on_platform.resources)
    assert {obj["kind"] for obj in objects} >= {"Deployment", "Service", "CronJob"}
    for obj in objects:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


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
