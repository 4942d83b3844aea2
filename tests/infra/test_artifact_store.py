"""ArtifactStore: in-cluster MinIO with a bucket Job, or an external S3 bucket."""

from __future__ import annotations

from typing import Any

from infra.manifests import to_manifests
from infra.mocked_engine import MOCK_PASSWORD, run_stack
from tests.infra.k8s_objects import containers, env_of, named, of_kind, secret_ref


def test_minio_keeps_its_data_on_the_stacks_volume_with_generated_credentials(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    statefulset = named(manifests, "StatefulSet", "minio")
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    size = {"dev": "10Gi", "staging": "50Gi", "prod": "500Gi"}[stack]
    assert claim["spec"]["resources"]["requests"]["storage"] == size
    (container,) = containers(statefulset)
    env = env_of(container)
    assert env["MINIO_ROOT_USER"] == secret_ref("artifact-store-credentials", "AWS_ACCESS_KEY_ID")
    assert env["MINIO_ROOT_PASSWORD"] == secret_ref("artifact-store-credentials",
                                                    "AWS_SECRET_ACCESS_KEY")
    data = next(m for m in container["volumeMounts"] if m["name"] == "data")
    assert data["mountPath"] in container["args"]
    credentials = named(manifests, "Secret", "artifact-store-credentials")["stringData"]
    assert credentials["AWS_SECRET_ACCESS_KEY"] == MOCK_PASSWORD


def test_a_job_creates_the_bucket_idempotently(
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    job = named(stack_manifests["dev"], "Job", "minio-bucket-setup")
    (container,) = containers(job)
    assert "mc mb --ignore-existing \"store/mlflow\"" in container["command"][-1]
    assert env_of(container)["S3_ENDPOINT"] == "http://minio.mlops-dev.svc.cluster.local:9000"
    assert container["envFrom"] == [{"secretRef": {"name": "artifact-store-credentials"}}]


def test_an_external_bucket_needs_no_minio_and_points_mlflow_at_its_endpoint() -> None:
    recorded = run_stack("dev", {
        "artifact_store_mode": "external", "artifact_bucket": "acme-mlflow",
        "s3_endpoint_url": "https://storage.example.com", "s3_access_key_id": "AKIAEXAMPLE",
        "s3_secret_access_key": "s3cr3t"})
    manifests = to_manifests(recorded.resources, redact=False)
    names = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    assert ("StatefulSet", "minio") not in names and ("Job", "minio-bucket-setup") not in names
    assert named(manifests, "Secret", "artifact-store-credentials")["stringData"] == {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
    env = env_of(next(containers(named(manifests, "Deployment", "mlflow"))))
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "https://storage.example.com"
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://acme-mlflow/artifacts"
    assert recorded.outputs["artifact_store_uri"] == "s3://acme-mlflow"
    assert len(of_kind(manifests, "CronJob")) == 2  # backup and drift still write to the bucket
