"""What a scraper needs from the rendered stacks: metrics ports, a Pushgateway, scrape objects.

Each metrics port is declared by name on its container (and Service), the way of finding
it follows `scrape_mode` (pod annotations, or prometheus-operator's objects validated
against the operator's CRD schemas), and every port or Secret key an object names exists.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pytest

from infra.config import STACKS
from infra.tracking_server import METRICS_DIR, METRICS_WRAPPER
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import run_stack
from mlops_platform.monitoring.catalog import (
    PUSHGATEWAY_ENV,
    PUSHGATEWAY_JOB,
    SERVING_JOB,
    SHIPPER_JOB,
    TRACKING_JOB,
)
from tests.infra import operator_schemas
from tests.infra.k8s_objects import (
    container_named,
    containers,
    env_of,
    named,
    of_kind,
    pod_template,
    selects,
)
from tests.infra.stacks import with_a_model

MONITOR_LABELS = {"release": "kube-prometheus-stack"}
ANNOTATIONS = ("prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path")
MONITOR_KINDS = ("ServiceMonitor", "PodMonitor")


def render(stack: str, **settings: Any) -> list[dict[str, Any]]:
    return to_manifests(run_stack(stack, {**with_a_model(stack), **settings}).resources,
                        redact=False)


@pytest.fixture(scope="module")
def annotated() -> list[dict[str, Any]]:
    return render("dev")


@pytest.fixture(scope="module")
def operated() -> dict[str, list[dict[str, Any]]]:
    return {stack: render(stack, scrape_mode="operator", monitor_labels=MONITOR_LABELS)
            for stack in STACKS}


def port_names(workload: dict[str, Any]) -> dict[str, int]:
    return {port["name"]: port["containerPort"] for container in containers(workload)
            for port in container.get("ports", [])}


def test_the_runtime_serves_its_metrics_on_a_named_port_of_its_own(
        annotated: list[dict[str, Any]]) -> None:
    serving = named(annotated, "Deployment", "demo-classifier")
    server = container_named(serving, "mlserver")
    env = env_of(server)
    extra = json.loads(env["MLSERVER_MODEL_EXTRA"])
    # One process; MLServer's endpoint (and the middleware it adds to every request) off.
    assert (env["MLSERVER_PARALLEL_WORKERS"], env["MLSERVER_METRICS_ENDPOINT"]) == ("0", "")
    assert (extra["metrics_port"], extra["metrics_host"]) == (8082, "0.0.0.0")  # noqa: S104
    # The platform's runtime measures its requests under the declared model and alias.
    assert extra["metrics"] == {"model": "demo-classifier", "version": "champion"}
    assert port_names(serving) == {"http": 8080, "grpc": 8081, "metrics": 8082,
                                   "shipper-metrics": 9102}


def test_the_log_shipper_serves_its_metrics_on_every_address_of_the_pod(
        annotated: list[dict[str, Any]]) -> None:
    shipper = container_named(named(annotated, "Deployment", "demo-classifier"), "log-shipper")
    command = shipper["command"]
    assert command[command.index("--metrics-port") + 1] == "9102"
    assert command[command.index("--metrics-host") + 1] == "0.0.0.0"  # noqa: S104
    assert shipper["ports"] == [{"name": "shipper-metrics", "containerPort": 9102}]


def test_the_serving_service_names_each_metrics_port_the_pod_declares(
        annotated: list[dict[str, Any]]) -> None:
    service = named(annotated, "Service", "demo-classifier")
    pod_ports = port_names(named(annotated, "Deployment", "demo-classifier"))
    ports = {port["name"]: (port["port"], pod_ports[port["targetPort"]])
             for port in service["spec"]["ports"]}
    assert ports["metrics"] == (8082, 8082)
    assert ports["shipper-metrics"] == (9102, 9102)


def test_the_tracking_server_serves_mlflows_exporter_on_a_metrics_port_of_its_own(
        annotated: list[dict[str, Any]]) -> None:
    """Behind the basic-auth app /metrics on the API port answers the admin only: the
    launcher serves the exporter's series without login on 9103, the server runs after --."""
    (server,) = containers(named(annotated, "Deployment", "mlflow"))
    command = server["command"]
    launcher, served = command[:command.index("--")], command[command.index("--") + 1:]
    assert launcher[:3] == ["python", "-m", METRICS_WRAPPER]
    assert launcher[launcher.index("--metrics-port") + 1] == "9103"
    assert launcher[launcher.index("--metrics-host") + 1] == "0.0.0.0"  # noqa: S104
    assert launcher[launcher.index("--metrics-dir") + 1] == METRICS_DIR
    assert served[:2] == ["mlflow", "server"] and "--app-name" in served
    assert port_names(named(annotated, "Deployment", "mlflow")) == {"http": 5000, "metrics": 9103}
    service = named(annotated, "Service", "mlflow")
    assert {"name": "metrics", "port": 9103, "targetPort": "metrics"} in service["spec"]["ports"]
    mounts = {mount["mountPath"] for mount in server["volumeMounts"]}
    assert METRICS_DIR.startswith("/tmp/") and "/tmp" in mounts
    assert server["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_pushgateway_is_hardened_probed_and_behind_its_service(
        annotated: list[dict[str, Any]]) -> None:
    deployment = named(annotated, "Deployment", "pushgateway", "mlops-dev")
    (container,) = containers(deployment)
    assert container["image"] == "prom/pushgateway:v1.11.4"
    assert container["command"] == ["/bin/pushgateway"]
    assert container["args"] == ["--web.listen-address=:9091"]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "http"}
    assert pod_template(deployment)["spec"]["automountServiceAccountToken"] is False
    service = named(annotated, "Service", "pushgateway", "mlops-dev")
    assert selects(service["spec"]["selector"], pod_template(deployment)["metadata"]["labels"])
    assert service["spec"]["ports"] == [{"name": "http", "port": 9091, "targetPort": "http"}]


@pytest.mark.parametrize("cron_job", ["demo-classifier-drift", "postgres-backup"])
def test_the_batch_jobs_push_to_the_pushgateways_service(
        annotated: list[dict[str, Any]], cron_job: str) -> None:
    job = named(annotated, "CronJob", cron_job)
    urls = {env_of(container).get(PUSHGATEWAY_ENV) for container in containers(job)
            if container["name"] != "dump"}
    assert urls == {"http://pushgateway.mlops-dev.svc:9091"}


def test_annotations_mode_marks_each_metrics_port_on_its_pods_and_creates_no_monitor(
        annotated: list[dict[str, Any]]) -> None:
    for name, port in (("mlflow", 9103), ("demo-classifier", 8082), ("pushgateway", 9091)):
        workload = named(annotated, "Deployment", name)
        annotations = pod_template(workload)["metadata"]["annotations"]
        assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                               "prometheus.io/path": "/metrics"}
        assert port in port_names(workload).values()
    assert not [m for m in annotated if m["kind"] in operator_schemas.OPERATOR_KINDS]


def test_annotations_mode_announces_each_serving_metrics_port_once(
        annotated: list[dict[str, Any]]) -> None:
    """MLServer's port on the pods (`kubernetes-pods`), the shipper's on the Service
    (`kubernetes-service-endpoints`): both scraped, neither twice."""
    workload = named(annotated, "Deployment", "demo-classifier")
    service = named(annotated, "Service", "demo-classifier")
    announced = [pod_template(workload)["metadata"]["annotations"]["prometheus.io/port"],
                 service["metadata"]["annotations"]["prometheus.io/port"]]
    assert sorted(announced) == sorted(str(port) for name, port in port_names(workload).items()
                                       if name in ("metrics", "shipper-metrics"))
    assert service["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    annotated_services = [m["metadata"]["name"] for m in of_kind(annotated, "Service")
                          if "prometheus.io/scrape" in m["metadata"].get("annotations", {})]
    assert annotated_services == ["demo-classifier"]


def test_operator_mode_monitors_every_part_under_the_job_the_alerts_select(
        operated: dict[str, list[dict[str, Any]]]) -> None:
    manifests = operated["prod"]
    monitors = {(m["kind"], m["metadata"]["namespace"], m["metadata"]["name"]): m["spec"]
                for m in manifests if m["kind"] in MONITOR_KINDS}
    jobs = {key: [endpoint["relabelings"] for endpoint in
                  spec.get("endpoints", spec.get("podMetricsEndpoints"))]
            for key, spec in monitors.items()}
    assert jobs == {
        ("ServiceMonitor", "mlops-prod", "mlflow"): [job_label(TRACKING_JOB)],
        ("PodMonitor", "mlops-prod-serving", "mlserver"): [job_label(SERVING_JOB),
                                                           job_label(SHIPPER_JOB)],
        ("ServiceMonitor", "mlops-prod", "pushgateway"): [job_label(PUSHGATEWAY_JOB)]}
    (pushgateway,) = monitors["ServiceMonitor", "mlops-prod", "pushgateway"]["endpoints"]
    assert pushgateway["honorLabels"] is True
    for workload in of_kind(manifests, "Deployment"):
        assert "annotations" not in pod_template(workload)["metadata"]
    for service in of_kind(manifests, "Service"):
        assert "prometheus.io/scrape" not in service["metadata"].get("annotations", {})


def job_label(job: str) -> list[dict[str, str]]:
    return [{"action": "replace", "targetLabel": "job", "replacement": job}]


def test_each_monitor_selects_the_objects_and_names_the_ports_they_have(
        operated: dict[str, list[dict[str, Any]]]) -> None:
    manifests = operated["staging"]
    for monitor in (m for m in manifests if m["kind"] in ("ServiceMonitor", "PodMonitor")):
        assert MONITOR_LABELS.items() <= monitor["metadata"]["labels"].items()
        spec = monitor["spec"]
        (namespace,) = spec["namespaceSelector"]["matchNames"]
        selector = spec["selector"]["matchLabels"]
        if monitor["kind"] == "ServiceMonitor":
            (service,) = [s for s in of_kind(manifests, "Service")
                          if s["metadata"]["namespace"] == namespace
                          and selects(selector, s["metadata"]["labels"])]
            declared = {port["name"] for port in service["spec"]["ports"]}
            assert {endpoint["port"] for endpoint in spec["endpoints"]} <= declared
        else:
            (workload,) = [d for d in of_kind(manifests, "Deployment")
                           if d["metadata"]["namespace"] == namespace
                           and selects(selector, pod_template(d)["metadata"]["labels"])]
            assert {endpoint["port"] for endpoint in spec["podMetricsEndpoints"]} == \
                {"metrics", "shipper-metrics"} <= port_names(workload).keys()


@pytest.mark.slow  # the operator's models load in seconds
def test_every_stacks_operator_objects_validate_against_the_crds_and_the_rest_strictly(
        operated: dict[str, list[dict[str, Any]]]) -> None:
    for manifests in operated.values():
        kinds = sorted(m["kind"] for m in manifests if m["kind"] in operator_schemas.OPERATOR_KINDS)
        assert kinds == ["PodMonitor", "PrometheusRule", "ServiceMonitor", "ServiceMonitor"]
        for manifest in manifests:
            if manifest["kind"] in operator_schemas.OPERATOR_KINDS:
                operator_schemas.validate(manifest)
            else:
                kubernetes_validate.validate(manifest, "1.33", strict=True)


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("honorlabels", True, r"honorlabels is not in the schema"),
    ("interval", 30, r"interval\s+Input should be a valid string"),
])
def test_crd_validation_catches_a_typo_and_a_wrong_type(
        operated: dict[str, list[dict[str, Any]]], field: str, value: Any,
        problem: str) -> None:
    monitor = copy.deepcopy(named(operated["dev"], "ServiceMonitor", "pushgateway"))
    monitor["spec"]["endpoints"][0][field] = value
    with pytest.raises(ValueError, match=problem):
        operator_schemas.validate(monitor)
