"""MetadataDatabase: in-cluster PostgreSQL with backups, or only the URL of an external one."""

from __future__ import annotations

from typing import Any

from mlops_platform.kubernetes.topology import DATABASE
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import run_stack
from tests.infra.k8s_objects import containers, env_of, named, of_kind, secret_ref

EXTERNAL_URL = "postgresql://mlflow:pw@db.example.com:5432/mlflow"


def test_postgres_runs_as_a_statefulset_with_the_stacks_volume(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    statefulset = named(stack_manifests[stack], "StatefulSet", "postgres")
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    size = {"dev": "5Gi", "staging": "20Gi", "prod": "100Gi"}[stack]
    assert claim["spec"]["resources"]["requests"]["storage"] == size
    (container,) = containers(statefulset)
    assert {m["name"] for m in container["volumeMounts"]} >= {"data", "run", "tmp"}
    assert container["envFrom"] == [{"secretRef": {"name": "postgres-credentials"}}]
    assert env_of(container)["PGDATA"].startswith("/var/lib/postgresql/data/")
    assert container["readinessProbe"]["exec"]["command"][0] == "pg_isready"
    assert statefulset["spec"]["serviceName"] == "postgres"
    service = named(stack_manifests[stack], "Service", "postgres")
    assert service["spec"]["ports"][0]["port"] == DATABASE.port


def test_the_password_is_generated_and_only_in_secrets(
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests["dev"]
    credentials = named(manifests, "Secret", "postgres-credentials")["stringData"]
    assert set(credentials) == {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}
    url = named(manifests, "Secret", "mlflow-database")["stringData"]["url"]
    assert credentials["POSTGRES_PASSWORD"] in url
    for manifest in manifests:
        if manifest["kind"] != "Secret":
            assert credentials["POSTGRES_PASSWORD"] not in str(manifest), manifest["metadata"]


def test_a_nightly_dump_goes_to_the_artifact_store(
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    backup = named(stack_manifests["dev"], "CronJob", "postgres-backup")
    assert backup["spec"]["schedule"] == "0 3 * * *"
    dump, upload = containers(backup)
    assert dump["image"].startswith("postgres:") and "pg_dump" in dump["command"][-1]
    assert upload["image"] == "mlops-platform/tools:0.1.0"
    assert upload["command"] == [
        "python", "-m", "mlops_platform.tools.upload_file", "/backup/mlflow.dump",
        "--bucket", "mlflow", "--key", "backups/postgres/{timestamp}.dump",
        "--endpoint-url", "http://object-store.mlops-dev.svc.cluster.local:8333"]
    assert upload["envFrom"] == [{"secretRef": {"name": "artifact-store-credentials"}}]


def test_an_external_database_is_only_a_secret_url() -> None:
    recorded = run_stack("dev", {"database_mode": "external", "database_url": EXTERNAL_URL})
    manifests = to_manifests(recorded.resources, redact=False)
    assert not [s for s in of_kind(manifests, "StatefulSet") if s["metadata"]["name"] ==
                "postgres"]
    assert not [c for c in of_kind(manifests, "CronJob") if c["metadata"]["name"] ==
                "postgres-backup"]
    assert named(manifests, "Secret", "mlflow-database")["stringData"] == {"url": EXTERNAL_URL}
    env = env_of(next(containers(named(manifests, "Deployment", "mlflow"))))
    assert env["MLFLOW_BACKEND_STORE_URI"] == secret_ref("mlflow-database", "url")
    secret = next(r for r in recorded.resources if r.name == "metadata-database-url")
    assert "4dabf18193072939515e22adb298388d" in secret.inputs["stringData"], \
        "the URL must travel as a Pulumi secret"


def test_staging_and_prod_name_their_storage_class(
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    for stack, storage_class in (("dev", None), ("staging", "gp3"), ("prod", "gp3")):
        for name in ("postgres", "object-store"):
            (claim,) = named(stack_manifests[stack], "StatefulSet", name)["spec"][
                "volumeClaimTemplates"]
            assert claim["spec"].get("storageClassName") == storage_class
