"""TrackingServer wiring: env and secret references, ports, probes, Ingress, HPA/PDB."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

import pytest
from mlflow.server.auth.config import read_auth_config

from mlops_platform.kubernetes.topology import TRACKING, TRACKING_METRICS_PORT
from mlops_platform.local_cluster.mocked_engine import (
    MOCK_PASSWORD,
    RecordedResource,
    RecordedStack,
    run_stack,
)
from mlops_platform.tracking_auth import CREDENTIAL_CACHE_SECONDS, basic_auth_ini
from tests.infra.k8s_objects import containers, env_of, named, of_kind, secret_ref


def tracking_container(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = containers(named(manifests, "Deployment", "mlflow"))
    return container


def test_the_server_reads_every_credential_from_a_secret_that_holds_it(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    env = env_of(tracking_container(manifests))
    assert env["MLFLOW_BACKEND_STORE_URI"] == secret_ref("mlflow-database", "url")
    assert env["AWS_ACCESS_KEY_ID"] == secret_ref("artifact-store-credentials",
                                                  "AWS_ACCESS_KEY_ID")
    assert env["AWS_SECRET_ACCESS_KEY"] == secret_ref("artifact-store-credentials",
                                                      "AWS_SECRET_ACCESS_KEY")
    for key in ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD",
                "MLFLOW_FLASK_SERVER_SECRET_KEY"):
        assert env[key] == secret_ref("mlflow-server", key)
    namespace = f"mlops-{stack}"
    for reference in (value["secretKeyRef"] for value in env.values()
                      if isinstance(value, dict)):
        secret = named(manifests, "Secret", reference["name"], namespace)
        assert reference["key"] in secret["stringData"]


def test_the_server_proxies_artifacts_into_the_store_and_runs_the_auth_app(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    container = tracking_container(stack_manifests[stack])
    env = env_of(container)
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://mlflow/artifacts"
    assert env["MLFLOW_S3_ENDPOINT_URL"] == \
        f"http://object-store.mlops-{stack}.svc.cluster.local:8333"
    assert "--serve-artifacts" in container["command"]
    assert container["command"][container["command"].index("--app-name") + 1] == \
        "champion-guard"
    assert env["MLOPS_GATE_USERNAME"] == "promotion-gate"
    auth_path = env["MLFLOW_AUTH_CONFIG_PATH"]
    mount = next(m for m in container["volumeMounts"] if auth_path.startswith(m["mountPath"]))
    volume = next(v for v in named(stack_manifests[stack], "Deployment", "mlflow")["spec"][
        "template"]["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "mlflow-server"


def test_the_auth_database_is_the_metadata_database(
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests["dev"]
    auth = configparser.ConfigParser()
    auth.read_string(named(manifests, "Secret", "mlflow-server")["stringData"]["basic_auth.ini"])
    database_url = named(manifests, "Secret", "mlflow-database")["stringData"]["url"]
    assert auth["mlflow"]["database_uri"] == database_url
    assert database_url == (f"postgresql://mlflow:{MOCK_PASSWORD}@postgres.mlops-dev.svc"
                            ".cluster.local:5432/mlflow")


def test_mlflow_reads_the_auth_settings_with_its_credential_cache_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "basic_auth.ini"
    config_file.write_text(basic_auth_ini("sqlite:///auth.db", admin_username="root"))
    monkeypatch.setenv("MLFLOW_AUTH_CONFIG_PATH", str(config_file))
    config = read_auth_config()
    assert (config.default_permission, config.database_uri, config.admin_username) == (
        "READ", "sqlite:///auth.db", "root")
    assert config.auth_cache_ttl_seconds == CREDENTIAL_CACHE_SECONDS > 0


def test_the_service_and_the_probes_use_the_container_port(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    container = tracking_container(manifests)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": TRACKING.port, "metrics": TRACKING_METRICS_PORT}
    service_ports = named(manifests, "Service", "mlflow")["spec"]["ports"]
    assert {port["name"]: port["port"] for port in service_ports} == ports
    assert all(ports[port["targetPort"]] == port["port"] for port in service_ports)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] in ports
        assert container[probe]["httpGet"]["path"] == "/health"


@pytest.mark.parametrize(("stack", "ingress"), [("dev", False), ("staging", True),
                                                ("prod", True)])
def test_an_ingress_with_tls_exactly_where_a_host_is_set(
        stack: str, ingress: bool, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    ingresses = of_kind(stack_manifests[stack], "Ingress")
    assert len(ingresses) == int(ingress)
    if ingress:
        spec = ingresses[0]["spec"]
        host = spec["rules"][0]["host"]
        assert spec["tls"] == [{"hosts": [host], "secretName": "mlflow-tls"}]
        backend = spec["rules"][0]["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": "mlflow", "port": {"name": "http"}}
        assert ingresses[0]["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        assert host in env_of(tracking_container(stack_manifests[stack]))[
            "MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")


@pytest.mark.parametrize("replicas", [1, 2, 5])
def test_hpa_and_pdb_exactly_when_replicas_exceed_one(replicas: int) -> None:
    from mlops_platform.local_cluster.manifests import to_manifests

    manifests = to_manifests(run_stack("dev", {"tracking_replicas": replicas}).resources)
    hpas = [m for m in of_kind(manifests, "HorizontalPodAutoscaler")
            if m["metadata"]["name"] == "mlflow"]
    pdbs = [m for m in of_kind(manifests, "PodDisruptionBudget")
            if m["metadata"]["name"] == "mlflow"]
    assert named(manifests, "Deployment", "mlflow")["spec"]["replicas"] == replicas
    assert len(hpas) == len(pdbs) == int(replicas > 1)
    if replicas > 1:
        assert hpas[0]["spec"]["minReplicas"] == replicas
        assert hpas[0]["spec"]["maxReplicas"] == 2 * replicas
        assert hpas[0]["spec"]["scaleTargetRef"]["name"] == "mlflow"
        assert pdbs[0]["spec"]["selector"]["matchLabels"] == TRACKING.labels


def test_the_serving_namespace_gets_the_read_only_users_credentials_not_the_admins(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    serving = f"mlops-{stack}-serving"
    secret = named(manifests, "Secret", "mlflow-client-credentials", serving)
    reader = named(manifests, "Secret", "mlflow-registry-reader", f"mlops-{stack}")["stringData"]
    assert secret["stringData"] == {
        "MLFLOW_TRACKING_USERNAME": reader["MLFLOW_READER_USERNAME"],
        "MLFLOW_TRACKING_PASSWORD": reader["MLFLOW_READER_PASSWORD"]}
    assert reader["MLFLOW_READER_USERNAME"] != "admin"
    assert reader["MLFLOW_READER_PASSWORD"] == MOCK_PASSWORD  # generated by pulumi-random
    in_serving = [m for m in manifests if m["metadata"].get("namespace") == serving]
    assert not any("MLFLOW_AUTH_ADMIN" in str(m) for m in in_serving)


def test_a_job_creates_the_reader_with_the_admins_credentials_in_the_platform_namespace(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    job = named(stack_manifests[stack], "Job", "create-registry-reader", f"mlops-{stack}")
    container, gate = containers(job)
    assert gate["command"] == [
        "python", "-m", "mlops_platform.governance.gate_identity",
        "--tracking-uri", f"http://mlflow.mlops-{stack}.svc.cluster.local:5000"]
    for key in ("MLFLOW_GATE_USERNAME", "MLFLOW_GATE_PASSWORD"):
        assert env_of(gate)[key] == secret_ref("mlflow-promotion-gate", key)
    assert container["image"].startswith("mlops-platform/tools:0.1.0")
    assert container["command"] == [
        "python", "-m", "mlops_platform.tools.create_reader",
        "--tracking-uri", f"http://mlflow.mlops-{stack}.svc.cluster.local:5000"]
    env = env_of(container)
    for key in ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD"):
        assert env[key] == secret_ref("mlflow-server", key)
    for key in ("MLFLOW_READER_USERNAME", "MLFLOW_READER_PASSWORD"):
        assert env[key] == secret_ref("mlflow-registry-reader", key)


def test_the_reader_job_runs_once_the_server_is_up(
        recorded_stacks: dict[str, RecordedStack]) -> None:
    job = next(r for r in recorded_stacks["dev"].resources
               if r.name == "tracking-server-create-reader")
    assert "tracking-server-deployment" in _depends_on(recorded_stacks["dev"], job)


@pytest.mark.parametrize("host", ["localhost:5000", "127.0.0.1:5000", "localhost:41234",
                                  "mlflow.mlops-dev.svc.cluster.local:5000",
                                  "mlflow.mlops-dev:5000", "mlflow:5000", "mlflow"])
def test_mlflow_accepts_the_host_headers_of_port_forwards_and_service_names(
        host: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    allowed = env_of(tracking_container(stack_manifests["dev"]))[
        "MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert host in allowed or f"{host.split(':')[0]}:*" in allowed


def test_the_schema_is_migrated_once_by_a_job_before_any_server_starts(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]],
        recorded_stacks: dict[str, RecordedStack]) -> None:
    job = named(stack_manifests[stack], "Job", "mlflow-db-upgrade")
    runs, auth = containers(job)
    server = tracking_container(stack_manifests[stack])
    assert runs["image"] == auth["image"] == server["image"]
    assert runs["command"] == ["mlflow", "db", "upgrade", "$(MLFLOW_BACKEND_STORE_URI)"]
    assert auth["command"] == ["python", "-m", "mlflow.server.auth", "db", "upgrade",
                               "--url", "$(MLFLOW_BACKEND_STORE_URI)"]
    for container in (runs, auth):
        assert env_of(container)["MLFLOW_BACKEND_STORE_URI"] == secret_ref("mlflow-database",
                                                                           "url")
    deployment = next(r for r in recorded_stacks[stack].resources
                      if r.name == "tracking-server-deployment")
    assert "tracking-server-db-upgrade" in _depends_on(recorded_stacks[stack], deployment)


@pytest.mark.parametrize(("setting", "expected"), [(None, "5g"), ("0", "0"), ("20g", "20g")])
def test_the_ingress_passes_uploads_up_to_the_configured_size(
        setting: str | None, expected: str) -> None:
    from mlops_platform.local_cluster.manifests import to_manifests

    overrides = {"ingress_max_body_size": setting} if setting else {}
    manifests = to_manifests(run_stack("staging", overrides).resources)
    (ingress,) = of_kind(manifests, "Ingress")
    assert ingress["metadata"]["annotations"][
        "nginx.ingress.kubernetes.io/proxy-body-size"] == expected


def _depends_on(recorded: RecordedStack, resource: RecordedResource) -> set[str]:
    urns = recorded.dependencies[resource.urn]
    return {r.name for r in recorded.resources if r.urn in urns}
