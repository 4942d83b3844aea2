"""The dev stack's rendered pods, run as containers from the platform's own images.

What mocks and schemas cannot see happens here: the images start under the pod's
hardening, Services resolve by their cluster DNS names, the tracking server accepts a
login through its Service name, a baked project registers a model through the proxy
into the object store, the serving pod's sidecar ships the served inputs into the store,
the drift CronJob reads them and writes its report there, the backup CronJob's dump
restores into an empty database, a restart of the tracking server loses nothing, and Feast's
online store lets its user in with the serving namespace's Secret (and no one without). Every
metrics port answers where a scraper would look for it (the tracking server's without
login), and the CronJobs' results reach the Pushgateway.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.artifact_store import CREDENTIALS_SECRET
from infra.feature_store import CONNECTION_SECRET, PASSWORD_KEY
from infra.tracking_server import GATE_SECRET
from mlops_platform.governance.gate_identity import GATE_ENV
from mlops_platform.kubernetes.kube_types import resources
from mlops_platform.kubernetes.security import hardened_container, hardened_pod_spec
from mlops_platform.kubernetes.topology import (
    FEATURE_MATERIALISATION,
    FEATURE_STORE,
    PROMETHEUS,
    PUSHGATEWAY,
    SERVING_METRICS_PORT,
    SHIPPER_METRICS_PORT,
    TRACKING_METRICS_PORT,
)
from mlops_platform.local_cluster import pods
from mlops_platform.monitoring import catalog
from tests.support.images import PLATFORM_VERSION
from tests.support.servers import postgres_bin_dir, running_postgres
from tests.template.baking import bake, make

pytestmark = pytest.mark.slow

NAMESPACE = "mlops-dev"
SERVICE_HOST = f"mlflow.{NAMESPACE}.svc.cluster.local:5000"
MODEL_NAME = "pods_classifier"
BUCKET = "mlflow"
SERVED_PREFIX = f"monitoring/{MODEL_NAME}/served/"
LABELS_PREFIX = f"monitoring/{MODEL_NAME}/labels/"
REFERENCE_KEY = f"monitoring/{MODEL_NAME}/reference.csv"
REPORT_KEY = f"monitoring/{MODEL_NAME}/reports/drift_report.json"
PERFORMANCE_REPORT_KEY = f"monitoring/{MODEL_NAME}/performance/performance_report.json"
# The test split's labels are all today's: one window, judged from 20 labelled rows.
SERVED_MODEL = {"name": MODEL_NAME, "alias": "champion", "drift": {
    "reference": f"s3://{BUCKET}/{REFERENCE_KEY}", "current": f"s3://{BUCKET}/{SERVED_PREFIX}"},
    "performance": {"metric": "accuracy", "baseline": 0.9, "min_rows": 20},
    "batch": {"input": f"s3://{BUCKET}/batch/rows.csv", "output": f"s3://{BUCKET}/batch/scored/"}}
BATCH_ROWS = 12
# The shipper runs every few seconds here (60 s by default): the served inputs are in the
# store within a few rounds.
SHIP_SECONDS = 3
SHIPPED_TIMEOUT = 60.0
# bench/pods.py sets it: the peak memory of each running container, written at the end.
MEMORY_REPORT_ENV = "MLOPS_PODS_MEMORY_REPORT"


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


# Scraped through prometheus-operator's objects, as make pods does; the contract-rejection
# alert fires at the first spike, so a run sees it reach the firing state.
SCRAPED = {"scrape_mode": "operator", "monitoring_namespace": pods.MONITORING_NAMESPACE,
           "alert_thresholds": {"contract_rejection_ratio": 0.1, "contract_rejection_for": "0m"}}
PROMETHEUS_TIMEOUT = 90.0


def rendered(served_models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return pods.render("dev", {**SCRAPED, "served_models": served_models,
                               "prediction_log_ship_seconds": SHIP_SECONDS})


@pytest.fixture(scope="module")
def cluster(platform_images: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[pods.Cluster]:
    # The platform starts without the model (it is registered first, then served); the
    # Prometheus is configured from the stack with it, so it scrapes the model once it runs.
    served = rendered([SERVED_MODEL])
    manifests = rendered([]) + pods.scraper_manifests(
        served, pods.MONITORING_NAMESPACE, pods.SCRAPE_INTERVAL,
        lambda namespace, name: pods.rendered_secret(served, namespace, name))
    work_dir = tmp_path_factory.mktemp("pods")
    with pods.running(manifests, pods.local_images(manifests, PLATFORM_VERSION), work_dir,
                      secrets.token_hex(3)) as running:
        yield running
        record_memory_peaks(running)


def record_memory_peaks(cluster: pods.Cluster) -> None:
    """For bench/pods.py: each running container's peak so far, merged with earlier ones (a
    restart starts a new cgroup, so the peak before it is recorded first)."""
    if not os.environ.get(MEMORY_REPORT_ENV):
        return
    report = Path(os.environ[MEMORY_REPORT_ENV])
    peaks = json.loads(report.read_text()) if report.exists() else {}
    for name, peak in pods.memory_peaks(cluster).items():
        peaks[name] = max(peak, peaks.get(name, 0))
    report.write_text(json.dumps(peaks, indent=2))


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


def scraped(cluster: pods.Cluster, workload: str, port: int) -> str:
    """What Prometheus would read from a metrics port: no credentials, the pod's address."""
    with urllib.request.urlopen(  # noqa: S310 - http://127.0.0.1 only
            cluster.url(workload, port) + "/metrics", timeout=10) as response:
        return response.read().decode()


def test_the_tracking_servers_metrics_need_no_login_on_their_own_port(
        cluster: pods.Cluster) -> None:
    # The exporter counts API requests (not /health): make one, as any client would.
    status, _ = api(cluster, "/api/2.0/mlflow/experiments/search?max_results=1",
                    host=SERVICE_HOST, auth=admin(cluster))
    assert status == 200
    assert catalog.TRACKING_REQUESTS in scraped(cluster, "mlflow", TRACKING_METRICS_PORT)


def test_the_pushgateway_answers_on_its_service_port(cluster: pods.Cluster) -> None:
    assert "pushgateway_build_info" in scraped(cluster, PUSHGATEWAY.name, PUSHGATEWAY.port)


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
    # Only the promotion gate's user may move `champion`: the promote stage switches to it.
    gate = cluster.secret(NAMESPACE, GATE_SECRET)
    for name in GATE_ENV:
        monkeypatch_module.setenv(name, gate[name])
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
    record_memory_peaks(cluster)
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


@pytest.fixture(scope="module")
def serving(cluster: pods.Cluster, registered: Path) -> pods.Workload:
    """The model's serving pod (MLServer and its log shipper) and drift CronJob, added."""
    served = rendered([SERVED_MODEL])
    workload = next(workload for workload in pods.workloads(served)
                    if workload.kind == "Deployment" and workload.name == "pods-classifier")
    # The same objects plus the model's (mocked secrets are equal), and the Prometheus.
    cluster.manifests = served + [manifest for manifest in cluster.manifests
                                  if manifest["metadata"].get("namespace")
                                  == pods.MONITORING_NAMESPACE]
    cluster.image_map = {**cluster.image_map, **pods.local_images(served, PLATFORM_VERSION)}
    pods.start(cluster, workload)
    return workload


def test_the_serving_pod_loads_the_champion_with_its_read_only_identity(
        cluster: pods.Cluster, registered: Path, serving: pods.Workload) -> None:
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


def split_rows(project: Path) -> list[dict[str, float]]:
    """The project's test split, without its target column."""
    import pandas as pd

    frame = pd.read_csv(project / "data" / "prepared" / "test.csv").drop(columns=["target"])
    return [{key: float(value) for key, value in row.items()}
            for row in frame.to_dict("records")]


def registered_test_row(project: Path) -> dict[str, float]:
    return split_rows(project)[0]


def object_store(cluster: pods.Cluster) -> Any:
    import boto3

    keys = cluster.secret(NAMESPACE, CREDENTIALS_SECRET)
    return boto3.client("s3", endpoint_url=cluster.url("object-store", 8333),
                        region_name="us-east-1", aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])


def stored_rows(client: Any, prefix: str) -> list[dict[str, Any]]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return [json.loads(line) for item in listed if item["Key"].endswith(".jsonl")
            for line in client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            .splitlines()]


def missing(sent: list[dict[str, float]], stored: list[dict[str, Any]]) -> int:
    """How many sent rows no stored line carries (same inputs; the log adds its columns)."""
    logged = {tuple(sorted((key, line.get(key)) for key in sent[0])) for line in stored}
    return sum(tuple(sorted(row.items())) not in logged for row in sent)


def split_targets(project: Path) -> list[int]:
    import pandas as pd

    return pd.read_csv(project / "data" / "prepared" / "test.csv")["target"].tolist()


@pytest.fixture(scope="module")
def answered(cluster: pods.Cluster, registered: Path, serving: pods.Workload
             ) -> tuple[list[dict[str, float]], list[str]]:
    """The test split served in one request: the rows sent and the ids they were given."""
    rows = split_rows(registered)
    status, body = post_json(cluster.url(serving.name, 8080), "/invocations",
                             {"dataframe_records": rows})
    assert status == 200, body
    return rows, body["prediction_ids"]


@pytest.fixture(scope="module")
def shipped(cluster: pods.Cluster, answered: tuple[list[dict[str, float]], list[str]]
            ) -> tuple[list[dict[str, float]], int]:
    """The answered rows waited for in the store: the rows sent and how many rows the store
    holds then (the earlier tests' requests included)."""
    rows, _ = answered
    client = object_store(cluster)
    deadline = time.monotonic() + SHIPPED_TIMEOUT
    while missing(rows, stored := stored_rows(client, SERVED_PREFIX)) and \
            time.monotonic() < deadline:
        time.sleep(2)  # polling interval of the store, not a synchronisation
    return rows, len(stored)


def test_the_served_inputs_reach_the_object_store(
        cluster: pods.Cluster, shipped: tuple[list[dict[str, float]], int]) -> None:
    rows, _ = shipped
    client = object_store(cluster)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=SERVED_PREFIX)["Contents"]
    assert all(item["Key"].startswith(f"{SERVED_PREFIX}pods-classifier/") for item in listed)
    stored = stored_rows(client, SERVED_PREFIX)
    assert missing(rows, stored) == 0, pods.logs(
        f"{cluster.network}-pods-classifier-log-shipper")
    assert all("prediction" in line and "served_at" in line for line in stored)
    assert {line["model_name"] for line in stored} == {MODEL_NAME}
    assert {line["model_version"] for line in stored} == {"1"}  # the alias, resolved


def test_labels_sent_to_the_serving_pod_reach_the_store_beside_the_served_rows(
        cluster: pods.Cluster, registered: Path, serving: pods.Workload,
        answered: tuple[list[dict[str, float]], list[str]],
        shipped: tuple[list[dict[str, float]], int]) -> None:
    _, ids = answered
    outcomes = split_targets(registered)
    labels = [{"prediction_id": pid, "label": outcome} for pid, outcome in zip(
        ids, outcomes, strict=True)]
    status, body = post_json(cluster.url(serving.name, 8080), "/labels", {"labels": labels})
    assert (status, body) == (200, {"accepted": len(ids)})
    client = object_store(cluster)
    deadline = time.monotonic() + SHIPPED_TIMEOUT
    while len(stored := stored_rows(client, LABELS_PREFIX)) < len(ids) and \
            time.monotonic() < deadline:
        time.sleep(2)  # polling interval of the store, not a synchronisation
    assert sorted((line["prediction_id"], line["label"]) for line in stored) == sorted(
        (pid, outcome) for pid, outcome in zip(ids, outcomes, strict=True)), pods.logs(
        f"{cluster.network}-pods-classifier-log-shipper")
    served_ids = {line["prediction_id"] for line in stored_rows(client, SERVED_PREFIX)}
    assert set(ids) <= served_ids  # every label joins a served row


def test_the_serving_pod_and_its_shipper_serve_their_metrics(
        cluster: pods.Cluster, serving: pods.Workload,
        shipped: tuple[list[dict[str, float]], int]) -> None:
    served = scraped(cluster, serving.name, SERVING_METRICS_PORT)
    assert f'{catalog.SERVING_REQUESTS.name}{{' in served
    assert f'model="{MODEL_NAME}"' in served
    shipper = scraped(cluster, serving.name, SHIPPER_METRICS_PORT)
    assert f"{catalog.SHIPPER_LINES.name}{{" in shipper


def test_the_drift_cronjob_reads_them_and_writes_its_report_to_the_store(
        cluster: pods.Cluster, registered: Path,
        shipped: tuple[list[dict[str, float]], int]) -> None:
    _, stored = shipped
    client = object_store(cluster)
    client.upload_file(str(registered / "data" / "prepared" / "train.csv"), BUCKET,
                       REFERENCE_KEY)
    log = pods.run_job(cluster, "pods-classifier-drift")
    assert f"read {stored} of {stored} current rows" in log
    report = json.loads(client.get_object(Bucket=BUCKET, Key=REPORT_KEY)["Body"].read())
    assert report["read"]["current"]["rows_read"] == stored
    assert report["current"] == f"s3://{BUCKET}/{SERVED_PREFIX}"
    client.head_object(Bucket=BUCKET, Key=REPORT_KEY.replace(".json", ".html"))
    pushed = scraped(cluster, PUSHGATEWAY.name, PUSHGATEWAY.port)
    assert f'{catalog.DRIFT_LAST_SUCCESS.name}{{' in pushed
    assert f'model="{MODEL_NAME}"' in pushed


def test_the_performance_cronjob_judges_the_labelled_answers_and_prometheus_has_its_verdict(
        cluster: pods.Cluster, registered: Path,
        answered: tuple[list[dict[str, float]], list[str]]) -> None:
    """After the labels test above: the labels are in the store beside the served rows."""
    _, ids = answered
    log = pods.run_job(cluster, "pods-classifier-performance")
    assert f"joined {len(ids)} labelled predictions" in log, log
    verdict = next(line for line in log.splitlines() if line.startswith(("healthy", "DEGRADED")))
    report = json.loads(object_store(cluster).get_object(
        Bucket=BUCKET, Key=PERFORMANCE_REPORT_KEY)["Body"].read())
    assert report["degraded"] is verdict.startswith("DEGRADED"), report
    judged = values_when(cluster, f'{catalog.MODEL_PERFORMANCE.name}{{model="{MODEL_NAME}"}}',
                         lambda found: bool(found))
    [(labels, accuracy)] = judged.items()
    assert json.loads(labels)["version"] == "1"
    assert accuracy == pytest.approx(report["value"])
    rows = values_when(cluster, f'{catalog.MODEL_PERFORMANCE_ROWS.name}{{model="{MODEL_NAME}"}}',
                       lambda found: bool(found))
    assert list(rows.values()) == [float(len(ids))]


def test_the_backup_cronjobs_dump_restores_into_an_empty_database(
        cluster: pods.Cluster, registered: Path, tmp_path: Path) -> None:
    pods.run_job(cluster, "postgres-backup")
    assert f"{catalog.BACKUP_LAST_SUCCESS.name}{{" in scraped(
        cluster, PUSHGATEWAY.name, PUSHGATEWAY.port)
    client = object_store(cluster)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="backups/postgres/")["Contents"]
    newest = max(listed, key=lambda item: item["Key"])["Key"]
    dump = tmp_path / "mlflow.dump"
    client.download_file(BUCKET, newest, str(dump))
    dump.chmod(0o644)  # read by the postgres user that pg_restore runs as
    bin_dir = postgres_bin_dir()
    with running_postgres(tmp_path / "restore") as empty:
        restored = subprocess.run(
            [str(bin_dir / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
             "--dbname", empty.url, str(dump)], capture_output=True, text=True, timeout=300)
        assert restored.returncode == 0, restored.stderr
        names = subprocess.run(
            [str(bin_dir / "psql"), "--dbname", empty.url, "--tuples-only", "--no-align",
             "--command", "SELECT name FROM registered_models"],
            capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert MODEL_NAME in names


# What a materialisation job runs first: psql, with the connection Secret of the serving
# namespace as its environment, to the online store's Service name.
FEAST_LOGIN = ('PGPASSWORD="$FEAST_ONLINE_PASSWORD" psql --tuples-only --no-align '
               '--command "SELECT current_user, current_database()" "host=$FEAST_ONLINE_HOST '
               'port=$FEAST_ONLINE_PORT dbname=$FEAST_ONLINE_DATABASE user=$FEAST_ONLINE_USER '
               'sslmode=$FEAST_ONLINE_SSLMODE"')


def feast_login(cluster: pods.Cluster, name: str, env: list[dict[str, str]]) -> str:
    """Run the login as a pod of the serving namespace (the online store's own image has
    psql); its output, or PodsError with its log when psql fails."""
    image = next(workload.pod_spec["containers"][0]["image"]
                 for workload in pods.workloads(cluster.manifests)
                 if workload.name == FEATURE_STORE.name)
    container = hardened_container(
        "psql", image, resources("50m", "64Mi", "200m", "128Mi"),
        command=["sh", "-c", FEAST_LOGIN], env=env,
        envFrom=[{"secretRef": {"name": CONNECTION_SECRET}}])
    job = pods.Workload("Job", name, f"{NAMESPACE}-serving", FEATURE_MATERIALISATION.labels,
                        hardened_pod_spec([container], service_account=name))
    pods.start(cluster, job)
    return pods.logs(pods.container_name(cluster, job, container))


def test_the_feast_user_logs_in_to_the_online_store_with_the_serving_secret(
        cluster: pods.Cluster) -> None:
    assert feast_login(cluster, "feast-login", []).split() == ["feast|feast"]
    with pytest.raises(pods.PodsError, match="password authentication failed"):
        feast_login(cluster, "feast-wrong-password",
                    [{"name": PASSWORD_KEY, "value": "not-the-password"}])


def prometheus(cluster: pods.Cluster, path: str, **params: str) -> Any:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(  # noqa: S310 - http://127.0.0.1 only
            f"{cluster.url(PROMETHEUS.name, PROMETHEUS.port)}{path}?{query}",
            timeout=10) as response:
        return json.loads(response.read())["data"]


def values_when(cluster: pods.Cluster, query: str, holds: Any) -> dict[str, float]:
    """The query's series (labels -> value) once ``holds`` them, polling Prometheus' API
    until a deadline: it scrapes every 2 s, so the traffic shows up within a few rounds."""
    deadline = time.monotonic() + PROMETHEUS_TIMEOUT
    while True:
        found = {json.dumps(series["metric"], sort_keys=True): float(series["value"][1])
                 for series in prometheus(cluster, "/api/v1/query", query=query)["result"]}
        if holds(found) or time.monotonic() > deadline:
            return found
        time.sleep(1)  # polling interval of the API, not a synchronisation


@pytest.fixture(scope="module")
def traffic(cluster: pods.Cluster, registered: Path, serving: pods.Workload) -> dict[str, int]:
    """Requests of each outcome sent to the served model: good, out of contract, too many rows."""
    url, row = cluster.url(serving.name, 8080), registered_test_row(registered)
    sent = {"200": 4, "422": 3, "413": 1}
    for _ in range(sent["200"]):
        assert post_json(url, "/invocations", {"dataframe_records": [row]})[0] == 200
    wrong_type = {**row, next(iter(row)): "not a number"}
    for _ in range(sent["422"]):
        assert post_json(url, "/invocations", {"dataframe_records": [wrong_type]})[0] == 422
    too_many = {"dataframe_records": [row] * 10_001}
    assert post_json(url, "/invocations", too_many)[0] == 413
    return sent


def test_prometheus_counts_the_served_versions_requests_by_outcome(
        cluster: pods.Cluster, traffic: dict[str, int]) -> None:
    query = (f'sum by (code) ({catalog.SERVING_REQUESTS.name}{{model="{MODEL_NAME}", '
             f'job="{catalog.SERVING_JOB}"}})')
    def code(name: str) -> str:
        return json.dumps({"code": name})

    counted = values_when(cluster, query, lambda found: found.get(code("413")) == 1.0)
    # The earlier tests' requests were answered 200 too.
    assert counted[code("200")] >= traffic["200"], counted
    assert counted[code("422")] == traffic["422"], counted
    assert counted[code("413")] == traffic["413"], counted


def test_prometheus_has_the_rejections_by_rule_and_the_latency(
        cluster: pods.Cluster, traffic: dict[str, int]) -> None:
    rejections = values_when(
        cluster, f'sum by (rule) ({catalog.SERVING_CONTRACT_REJECTIONS.name}'
                 f'{{model="{MODEL_NAME}"}}) > 0', lambda found: bool(found))
    assert rejections == {json.dumps({"rule": "type"}): float(traffic["422"])}
    latency = values_when(
        cluster, f'sum({catalog.SERVING_LATENCY.name}_count{{model="{MODEL_NAME}"}})',
        lambda found: bool(found))
    assert next(iter(latency.values())) >= sum(traffic.values())


def test_prometheus_scrapes_the_tracking_server_and_the_served_versions_age(
        cluster: pods.Cluster, serving: pods.Workload) -> None:
    up = values_when(cluster, f'up{{job="{catalog.TRACKING_JOB}"}}',
                     lambda found: list(found.values()) == [1.0])
    assert list(up.values()) == [1.0]
    # The series the down alert reads, whatever the scrape job is called.
    running = values_when(cluster, catalog.TRACKING_SERVER_UP.name,
                          lambda found: list(found.values()) == [1.0])
    assert list(running.values()) == [1.0]
    trained = values_when(cluster, f'{catalog.SERVING_MODEL_TRAINED.name}{{model="{MODEL_NAME}"}}',
                          lambda found: bool(found))
    [(labels, ended)] = trained.items()
    assert json.loads(labels)["version"] == "1"  # the alias resolved to the version it names
    assert time.time() - 3600 < ended <= time.time()


def test_a_contract_rejection_spike_reaches_the_firing_state(
        cluster: pods.Cluster, traffic: dict[str, int]) -> None:
    deadline = time.monotonic() + PROMETHEUS_TIMEOUT
    while True:
        alerts = prometheus(cluster, "/api/v1/alerts")["alerts"]
        firing = [alert for alert in alerts if alert["state"] == "firing"
                  and alert["labels"]["alertname"] == "MlopsContractRejectionsHigh"]
        if firing or time.monotonic() > deadline:
            break
        time.sleep(1)  # polling interval of the API, not a synchronisation
    assert [alert["labels"]["model"] for alert in firing] == [MODEL_NAME], alerts


# --- an A/B test: the same Deployment rolled to serve a challenger beside the champion -------

AB_WEIGHT = 0.5
AB_REQUESTS, AB_ROWS_PER_REQUEST = 20, 10


@pytest.fixture(scope="module")
def ab_serving(cluster: pods.Cluster, registered: Path, serving: pods.Workload
               ) -> tuple[pods.Workload, str]:
    """Version 2 (the champion's model registered again) declared as the challenger of the
    served model, and the serving Deployment rolled to it; the workload and version 2."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=cluster.url("mlflow", 5000))
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    # The logged model the champion's source names (models:/<model id>) is the challenger's too.
    model_id = champion.model_id or champion.source.removeprefix("models:/")
    challenger = client.create_model_version(MODEL_NAME, champion.source, champion.run_id,
                                             model_id=model_id)
    declared = {**SERVED_MODEL, "challenger": {"version": int(challenger.version),
                                               "weight": AB_WEIGHT}}
    served = rendered([declared])
    workload = next(workload for workload in pods.workloads(served)
                    if workload.kind == "Deployment" and workload.name == serving.name)
    cluster.manifests = served + [manifest for manifest in cluster.manifests
                                  if manifest["metadata"].get("namespace")
                                  == pods.MONITORING_NAMESPACE]
    pods.roll(cluster, workload)
    return workload, str(challenger.version)


@pytest.fixture(scope="module")
def ab_answered(cluster: pods.Cluster, registered: Path,
                ab_serving: tuple[pods.Workload, str]) -> list[str]:
    """Rows of the test split sent in requests of ten through the one Service; their ids."""
    rows, ids = split_rows(registered), []
    url = cluster.url(ab_serving[0].name, 8080)
    for index in range(AB_REQUESTS):
        chosen = [rows[(index * AB_ROWS_PER_REQUEST + offset) % len(rows)]
                  for offset in range(AB_ROWS_PER_REQUEST)]
        status, body = post_json(url, "/invocations", {"dataframe_records": chosen})
        assert status == 200, body
        ids += body["prediction_ids"]
    return ids


def test_both_arms_answer_behind_one_service_and_prometheus_counts_the_split(
        cluster: pods.Cluster, ab_serving: tuple[pods.Workload, str],
        ab_answered: list[str]) -> None:
    from mlops_platform.traffic_split import share_tolerance

    sent = len(ab_answered)
    query = f'sum by (arm, version) ({catalog.SERVING_AB_ROWS.name}{{model="{MODEL_NAME}"}})'
    counted = values_when(cluster, query, lambda found: sum(found.values()) == sent)
    by_arm = {json.loads(labels)["arm"]: (json.loads(labels)["version"], value)
              for labels, value in counted.items()}
    assert sum(value for _, value in by_arm.values()) == sent, counted
    assert by_arm["champion"][0] == "1" and by_arm["challenger"][0] == ab_serving[1], counted
    share = by_arm["challenger"][1] / sent
    assert abs(share - AB_WEIGHT) <= share_tolerance(sent, AB_WEIGHT), counted


def test_each_shipped_row_carries_its_arm_and_the_version_that_answered(
        cluster: pods.Cluster, ab_serving: tuple[pods.Workload, str],
        ab_answered: list[str]) -> None:
    client = object_store(cluster)
    wanted = set(ab_answered)
    deadline = time.monotonic() + SHIPPED_TIMEOUT
    while len(found := [line for line in stored_rows(client, SERVED_PREFIX)
                        if line["prediction_id"] in wanted]) < len(wanted) and \
            time.monotonic() < deadline:
        time.sleep(2)  # polling interval of the store, not a synchronisation
    assert len(found) == len(wanted)
    versions = {"champion": "1", "challenger": ab_serving[1]}
    assert {line["arm"] for line in found} == set(versions)
    assert all(line["model_version"] == versions[line["arm"]] for line in found)


def test_the_batch_scoring_cronjob_scores_a_table_in_the_store_and_logs_it_with_the_served(
        cluster: pods.Cluster, registered: Path) -> None:
    """Last: its rows join the served log the checks above read."""
    import pandas as pd

    client = object_store(cluster)
    rows = pd.DataFrame(split_rows(registered)[:BATCH_ROWS])
    client.put_object(Bucket=BUCKET, Key="batch/rows.csv", Body=rows.to_csv(index=False))
    log = pods.run_job(cluster, "pods-classifier-batch-scoring")
    assert f"scored {BATCH_ROWS} rows with {MODEL_NAME} version " in log, log
    [key] = [item["Key"] for item in client.list_objects_v2(
        Bucket=BUCKET, Prefix="batch/scored/")["Contents"]]
    scored = pd.read_csv(client.get_object(Bucket=BUCKET, Key=key)["Body"],
                         dtype={"prediction_id": str})
    assert len(scored) == BATCH_ROWS and scored["prediction_id"].nunique() == BATCH_ROWS
    logged = [line for line in stored_rows(client, SERVED_PREFIX)
              if line["prediction_id"] in set(scored["prediction_id"])]
    assert len(logged) == BATCH_ROWS
    assert {line["serving_path"] for line in logged} == {"batch"}
    assert [line["prediction"] for line in sorted(logged, key=lambda line: line[
        "prediction_id"])] == scored.sort_values("prediction_id")["prediction"].tolist()
