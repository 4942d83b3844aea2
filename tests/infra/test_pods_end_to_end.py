"""The dev stack's rendered pods, run as containers from the platform's own images.

What mocks and schemas cannot see happens here: the images start under the pod's
hardening, Services resolve by their cluster DNS names, the tracking server accepts a
login through its Service name, a baked project registers a model through the proxy
into the object store, and a restart of the tracking server loses nothing.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import pods
from tests.support.images import PLATFORM_VERSION
from tests.template.baking import bake, make

pytestmark = pytest.mark.slow

NAMESPACE = "mlops-dev"
SERVICE_HOST = f"mlflow.{NAMESPACE}.svc.cluster.local:5000"
MODEL_NAME = "pods_classifier"


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def cluster(platform_images: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[pods.Cluster]:
    manifests = pods.render("dev", {"served_models": []})
    work_dir = tmp_path_factory.mktemp("pods")
    with pods.running(manifests, pods.local_images(manifests, PLATFORM_VERSION), work_dir,
                      secrets.token_hex(3)) as running:
        yield running


def admin(cluster: pods.Cluster) -> tuple[str, str]:
    server = cluster.secret(NAMESPACE, "mlflow-server")
    return server["MLFLOW_AUTH_ADMIN_USERNAME"], server["MLFLOW_AUTH_ADMIN_PASSWORD"]


def api(cluster: pods.Cluster, path: str, *, host: str, auth: tuple[str, str] | None
        ) -> tuple[int, dict[str, Any]]:
    headers = {"Host": host}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        cluster.url("mlflow", 5000) + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}


def test_login_with_basic_auth_through_the_service_name_and_port(
        cluster: pods.Cluster) -> None:
    status, body = api(cluster, "/api/2.0/mlflow/experiments/search?max_results=5",
                       host=SERVICE_HOST, auth=admin(cluster))
    assert status == 200, body
    assert any(experiment["name"] == "Default" for experiment in body["experiments"])


def test_without_credentials_the_api_refuses(cluster: pods.Cluster) -> None:
    status, _ = api(cluster, "/api/2.0/mlflow/experiments/search?max_results=5",
                    host=SERVICE_HOST, auth=None)
    assert status == 401


def test_the_smoke_test_passes_with_the_generated_credentials(cluster: pods.Cluster) -> None:
    pods.smoke_test(cluster, NAMESPACE)


@pytest.fixture(scope="module")
def registered(cluster: pods.Cluster, tmp_path_factory: pytest.TempPathFactory,
               monkeypatch_module: pytest.MonkeyPatch) -> Path:
    """A baked project's pipeline, run against the containerised platform."""
    root = tmp_path_factory.mktemp("pods-project")
    url = cluster.url("mlflow", 5000)
    outputs = root / "outputs.json"
    outputs.write_text(json.dumps({
        "tracking_uri": url, "registry_uri": url, "artifact_store_uri": "s3://mlflow/artifacts",
        "serving_endpoint": "", "environment": "dev", "namespace": NAMESPACE}))
    username, password = admin(cluster)
    monkeypatch_module.setenv("MLFLOW_TRACKING_USERNAME", username)
    monkeypatch_module.setenv("MLFLOW_TRACKING_PASSWORD", password)
    project = bake(root, model_name=MODEL_NAME, platform_outputs=str(outputs),
                   maturity_level="1")
    make(project, "pipeline", timeout=900)  # five stages against containers, on two cores
    return project


def test_a_project_pipeline_registers_into_the_containerised_registry(
        cluster: pods.Cluster, registered: Path) -> None:
    status, body = api(cluster, f"/api/2.0/mlflow/registered-models/get?name={MODEL_NAME}",
                       host=SERVICE_HOST, auth=admin(cluster))
    assert status == 200, body
    assert "champion" in {alias["alias"] for alias in body["registered_model"]["aliases"]}


def test_restarting_the_tracking_server_loses_nothing(cluster: pods.Cluster,
                                                      registered: Path) -> None:
    pods.restart(cluster, "mlflow")
    status, body = api(cluster, f"/api/2.0/mlflow/registered-models/get?name={MODEL_NAME}",
                       host=SERVICE_HOST, auth=admin(cluster))
    assert status == 200, body
    assert body["registered_model"]["latest_versions"]


def post_json(url: str, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url + path, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"error": error.read().decode(errors="replace")}


def test_the_serving_pod_loads_the_champion_with_its_read_only_identity(
        cluster: pods.Cluster, registered: Path) -> None:
    served = pods.render("dev", {"served_models": [{"name": MODEL_NAME, "alias": "champion"}]})
    serving = next(workload for workload in pods.workloads(served)
                   if workload.kind == "Deployment" and workload.name != "mlflow")
    cluster.manifests = served  # the same objects plus the model's; mocked secrets are equal
    cluster.image_map = {**cluster.image_map, **pods.local_images(served, PLATFORM_VERSION)}
    pods.start(cluster, serving)

    row = registered_test_row(registered)
    url = cluster.url(serving.name, 8080)
    status, body = post_json(url, "/invocations", {"dataframe_records": [row]})
    assert status == 200, body
    assert len(body["predictions"]) == 1
    v2_inputs = [{"name": name, "shape": [1], "datatype": "FP64", "data": [value]}
                 for name, value in row.items()]
    status, body = post_json(url, f"/v2/models/{MODEL_NAME}/infer", {"inputs": v2_inputs})
    assert status == 200, body
    assert body["outputs"][0]["shape"][0] == 1


def registered_test_row(project: Path) -> dict[str, float]:
    """One row of the project's test split, without its target column."""
    import pandas as pd

    frame = pd.read_csv(project / "data" / "prepared" / "test.csv")
    return {key: float(value) for key, value in frame.drop(columns=["target"]).iloc[0].items()}
