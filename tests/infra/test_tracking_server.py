"""TrackingServer wiring: env and secret references, ports, probes, Ingress, HPA/PDB."""

from __future__ import annotations

import configparser
from typing import Any

import pytest

from infra.mocked_engine import MOCK_PASSWORD, run_stack
from mlops_platform.kubernetes.topology import TRACKING
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
    assert env["MLFLOW_S3_ENDPOINT_URL"] == f"http://minio.mlops-{stack}.svc.cluster.local:9000"
    assert "--serve-artifacts" in container["command"]
    assert container["command"][container["command"].index("--app-name") + 1] == "basic-auth"
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


def test_the_service_and_the_probes_use_the_container_port(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    container = tracking_container(manifests)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": TRACKING.port}
    (service_port,) = named(manifests, "Service", "mlflow")["spec"]["ports"]
    assert service_port["targetPort"] in ports and service_port["port"] == TRACKING.port
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
    from infra.manifests import to_manifests

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


def test_the_tracking_credentials_reach_the_serving_namespace_as_a_secret(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    secret = named(stack_manifests[stack], "Secret", "mlflow-client-credentials",
                   f"mlops-{stack}-serving")
    assert secret["stringData"] == {"MLFLOW_TRACKING_USERNAME": "admin",
                                    "MLFLOW_TRACKING_PASSWORD": MOCK_PASSWORD}
