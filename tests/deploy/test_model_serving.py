"""ModelServing: MLServer per model from the registry, deployment manifests, a project program."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mlops_platform.contract import APPROVED_BY_ANNOTATION
from mlops_platform.deploy.manifest import DeploymentManifestError, ServedModel, load_deployment
from mlops_platform.deploy.model_serving import (
    ModelServing,
    ModelServingArgs,
    PredictionLogShipping,
)
from mlops_platform.kubernetes.topology import SERVING
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import run_program, run_stack
from mlops_platform.serving import ServingSettings
from tests.infra.k8s_objects import containers, env_of, named, of_kind, secret_ref

TWO_MODELS = [
    {"name": "churn", "version": 7, "replicas": 1},
    {"name": "fraud", "alias": "champion", "replicas": 3, "max_replicas": 5,
     "approved_by": "jane@example.com",
     "resources": {"requests": {"cpu": "1", "memory": "2Gi"},
                   "limits": {"cpu": "2", "memory": "4Gi"}}},
]


@pytest.fixture(scope="module")
def two_models() -> list[dict[str, Any]]:
    return to_manifests(run_stack("dev", {"served_models": TWO_MODELS}).resources, redact=False)


def test_each_model_is_loaded_from_the_registry_by_version_or_alias(
        two_models: list[dict[str, Any]]) -> None:
    uris = {d["metadata"]["name"]: env_of(next(containers(d)))["MLSERVER_MODEL_URI"]
            for d in of_kind(two_models, "Deployment")
            if d["metadata"]["namespace"] == "mlops-dev-serving"}
    assert uris == {"churn": "models:/churn/7", "fraud": "models:/fraud@champion"}


def test_the_server_runs_the_mlflow_runtime_against_the_tracking_server(
        two_models: list[dict[str, Any]]) -> None:
    container = next(containers(named(two_models, "Deployment", "fraud")))
    env = env_of(container)
    assert container["image"] == "mlops-platform/serving:0.1.0"
    # The platform's logging runtime (MLServer's MLflow runtime, logging for the drift checks).
    assert env["MLSERVER_MODEL_IMPLEMENTATION"] == (
        "mlops_platform.serving_runtime.LoggingMLflowRuntime")
    extra = json.loads(env["MLSERVER_MODEL_EXTRA"])
    assert extra["prediction_log"] == "/var/log/predictions/predictions.jsonl"
    # What local serving runs by default: busy-time batching and the door's row limit.
    defaults = ServingSettings(model_uri="")
    assert (extra["batch_rows"], extra["max_rows"]) == (defaults.batch_rows, defaults.max_rows)
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.mlops-dev.svc.cluster.local:5000"
    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        assert env[key] == secret_ref("mlflow-client-credentials", key)
    assert container["resources"] == TWO_MODELS[1]["resources"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert env["MLSERVER_HTTP_PORT"] == str(ports["http"])
    assert env["MLSERVER_GRPC_PORT"] == str(ports["grpc"])


def test_the_approval_is_recorded_where_the_policy_pack_reads_it(
        two_models: list[dict[str, Any]]) -> None:
    fraud = named(two_models, "Deployment", "fraud")["metadata"]
    churn = named(two_models, "Deployment", "churn")["metadata"]
    assert fraud["annotations"] == {APPROVED_BY_ANNOTATION: "jane@example.com"}
    assert "annotations" not in churn


def test_mlserver_writes_its_metrics_and_environments_into_the_writable_tmp(
        two_models: list[dict[str, Any]]) -> None:
    deployment = named(two_models, "Deployment", "fraud")
    container = next(containers(deployment))
    env = env_of(container)
    tmp_mount = next(m for m in container["volumeMounts"] if m["name"] == "tmp")
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    for key in ("MLSERVER_METRICS_DIR", "MLSERVER_ENVIRONMENTS_DIR"):
        assert env[key].startswith(tmp_mount["mountPath"] + "/"), key
    tmp_volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"]
                      if v["name"] == "tmp")
    assert tmp_volume == {"name": "tmp", "emptyDir": {}}


def test_each_model_has_a_service_on_its_pods_only(two_models: list[dict[str, Any]]) -> None:
    for name in ("churn", "fraud"):
        service = named(two_models, "Service", name)
        pods = named(two_models, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"] == pods
        assert pods["app.kubernetes.io/instance"] == name
        assert SERVING.labels.items() <= pods.items()


def test_hpa_and_pdb_only_for_the_model_with_more_than_one_replica(
        two_models: list[dict[str, Any]]) -> None:
    serving = [m for m in two_models if m["metadata"].get("namespace") == "mlops-dev-serving"]
    (hpa,) = of_kind(serving, "HorizontalPodAutoscaler")
    (pdb,) = of_kind(serving, "PodDisruptionBudget")
    assert hpa["metadata"]["name"] == pdb["metadata"]["name"] == "fraud"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 5)
    assert pdb["spec"]["selector"]["matchLabels"] == named(
        two_models, "Deployment", "fraud")["spec"]["selector"]["matchLabels"]


def test_a_project_program_serves_its_models_from_a_stack_reference() -> None:
    platform = run_stack("staging").outputs  # serves no model of its own

    def project_program() -> dict[str, Any]:
        reference = pulumi.StackReference("acme/mlops-platform/staging")
        serving = ModelServing("churn-serving", ModelServingArgs(
            namespace=reference.get_output("namespace"),
            tracking_uri=reference.get_output("tracking_internal_uri"),
            image=reference.get_output("serving_image"),
            models=[ServedModel(name="churn", alias="champion")],
            manage_service_account=False))
        return {"endpoint": serving.endpoints["churn"]}

    recorded = run_program(project_program, project="churn", stack="staging",
                           stack_references={"acme/mlops-platform/staging": platform})
    manifests = to_manifests(recorded.resources)
    assert sorted(m["kind"] for m in manifests) == ["Deployment", "Service"]
    (deployment,) = of_kind(manifests, "Deployment")
    assert deployment["metadata"]["namespace"] == "mlops-staging-serving"
    container = next(containers(deployment))
    assert container["image"] == "mlops-platform/serving:0.1.0"
    assert env_of(container)["MLFLOW_TRACKING_URI"] == \
        "http://mlflow.mlops-staging.svc.cluster.local:5000"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "mlserver"
    assert recorded.outputs["endpoint"] == \
        "http://churn.mlops-staging-serving.svc.cluster.local:8080"


def test_a_registry_name_that_is_no_kubernetes_name_still_serves() -> None:
    models = [{"name": "Breast_Cancer.Classifier", "version": 4}]
    manifests = to_manifests(run_stack("dev", {"served_models": models}).resources)
    deployment = named(manifests, "Deployment", "breast-cancer-classifier")
    env = env_of(next(containers(deployment)))
    assert env["MLSERVER_MODEL_URI"] == "models:/Breast_Cancer.Classifier/4"
    assert env["MLSERVER_MODEL_NAME"] == "Breast_Cancer.Classifier"
    assert named(manifests, "Service", "breast-cancer-classifier")["spec"]["selector"] == \
        deployment["spec"]["selector"]["matchLabels"]


def test_load_deployment_reads_a_projects_manifest(tmp_path: Path) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text("environment: prod\nplatform_stack: acme/mlops-platform/prod\nmodels:\n"
                    "  - name: churn\n    alias: champion\n    replicas: 2\n")
    manifest = load_deployment(path)
    assert manifest.environment == "prod"
    assert [m.model_uri for m in manifest.models] == ["models:/churn@champion"]
    assert manifest.models[0].autoscaled


@pytest.mark.parametrize(("text", "problem"), [
    ("environment: qa\nplatform_stack: s\nmodels: []\n", "environment"),
    ("environment: dev\nplatform_stack: s\nmodels:\n  - name: churn\n", "exactly one of version"),
    ("environment: dev\nplatform_stack: s\nmodels:\n  - {name: churn, version: 1}\n"
     "  - {name: churn, version: 2}\n", "declared twice: churn"),
    ("environment: dev\nplatform_stack: s\nmodels:\n  - {name: churn/v2, version: 1}\n",
     "models.0.name"),
    ("environment: dev\nplatform_stack: s\nmodels:\n  - {name: churn_model, version: 1}\n"
     "  - {name: churn-model, version: 2}\n", "declared twice: churn-model, churn_model"),
    ("environment: dev\nmodels: []\n", "platform_stack"),
    ("environment: [dev\n", "not valid YAML"),
    ("environment: dev\nplatform_stack: s\nmodels:\n  - {name: churn, alias: champion, "
     "challenger: {version: 4, weight: 1.5}}\n", "less than or equal to 1"),
    ("environment: dev\nplatform_stack: s\nmodels:\n  - {name: churn, alias: champion, "
     "challenger: {weight: 0.1}}\n", "the challenger must name exactly one"),
    ("environment: dev\nplatform_stack: s\nmodels:\n  - {name: churn, version: 4, "
     "challenger: {version: 4, weight: 0.1}}\n", "the challenger is the served version itself"),
])
def test_a_bad_deployment_manifest_names_file_and_problem(tmp_path: Path, text: str,
                                                          problem: str) -> None:
    path = tmp_path / "dev.yaml"
    path.write_text(text)
    with pytest.raises(DeploymentManifestError) as raised:
        load_deployment(path)
    assert str(path) in str(raised.value) and problem in str(raised.value)


def test_a_challenger_is_served_by_the_same_pods_with_its_share_of_the_rows() -> None:
    served = [{"name": "churn", "alias": "champion",
               "challenger": {"version": 4, "weight": 0.25}}]
    rendered = to_manifests(run_stack("dev", {"served_models": served}).resources, redact=False)
    deployments = [d for d in of_kind(rendered, "Deployment")
                   if d["metadata"]["namespace"] == "mlops-dev-serving"]
    assert [d["metadata"]["name"] for d in deployments] == ["churn"]  # one Service's pods
    extra = json.loads(env_of(next(containers(deployments[0])))["MLSERVER_MODEL_EXTRA"])
    assert extra["ab_test"] == {"uri": "models:/churn/4", "salt": "models:/churn/4",
                                "weight": 0.25}


def test_a_missing_deployment_manifest_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(DeploymentManifestError, match="does not exist: declare"):
        load_deployment(tmp_path / "absent.yaml")


def test_half_a_key_pair_for_the_shippers_is_refused() -> None:
    with pytest.raises(ValueError, match="give both access_key_id and secret_access_key"):
        PredictionLogShipping(tools_image="tools", endpoint_url="http://store:8333",
                              bucket="mlflow", access_key_id="id")
