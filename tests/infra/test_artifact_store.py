"""ArtifactStore: in-cluster SeaweedFS with a bucket Job, or an external S3 bucket."""

from __future__ import annotations

import json
from typing import Any

from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import MOCK_PASSWORD, SECRET_SIGNATURE, run_stack
from tests.infra.k8s_objects import containers, env_of, named, of_kind, pod_template

ENDPOINT = "http://object-store.mlops-dev.svc.cluster.local:8333"


def test_seaweedfs_serves_s3_from_the_stacks_volume(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    statefulset = named(manifests, "StatefulSet", "object-store")
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    size = {"dev": "10Gi", "staging": "50Gi", "prod": "500Gi"}[stack]
    assert claim["spec"]["resources"]["requests"]["storage"] == size
    (container,) = containers(statefulset)
    assert container["image"].startswith("chrislusf/seaweedfs:4.22")
    assert container["command"] == ["weed", "server", "-dir=/data", "-s3", "-s3.port=8333",
                                    "-s3.config=/etc/seaweedfs/s3.json"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["data"] == "/data" and mounts["s3-config"] == "/etc/seaweedfs"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"s3": 8333}
    (service_port,) = named(manifests, "Service", "object-store")["spec"]["ports"]
    assert service_port["port"] == 8333


def test_the_s3_keys_reach_seaweedfs_only_as_a_mounted_secret(
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests["dev"]
    statefulset = named(manifests, "StatefulSet", "object-store")
    (container,) = containers(statefulset)
    assert all("valueFrom" not in item and "KEY" not in item["name"]
               for item in container["env"])
    volume = next(v for v in pod_template(statefulset)["spec"]["volumes"]
                  if v["name"] == "s3-config")
    identities = json.loads(named(manifests, "Secret", volume["secret"]["secretName"])[
        "stringData"]["s3.json"])
    credentials = named(manifests, "Secret", "artifact-store-credentials")["stringData"]
    assert credentials["AWS_SECRET_ACCESS_KEY"] == MOCK_PASSWORD
    (identity,) = identities["identities"]
    assert identity["credentials"] == [{"accessKey": credentials["AWS_ACCESS_KEY_ID"],
                                        "secretKey": credentials["AWS_SECRET_ACCESS_KEY"]}]
    assert {"Read", "Write", "List"} <= set(identity["actions"])


def test_the_s3_identities_travel_as_a_pulumi_secret() -> None:
    recorded = run_stack("dev")
    secret = next(r for r in recorded.resources if r.name == "artifact-store-s3-config")
    assert SECRET_SIGNATURE in json.dumps(secret.inputs["stringData"])


def test_a_job_of_the_tools_image_creates_the_bucket_through_the_s3_api(
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    job = named(stack_manifests["dev"], "Job", "create-bucket")
    (container,) = containers(job)
    assert container["image"] == "mlops-platform/tools:0.1.0"
    assert container["command"] == ["python", "-m", "mlops_platform.tools.create_bucket",
                                    "--bucket", "mlflow", "--endpoint-url", ENDPOINT]
    assert container["envFrom"] == [{"secretRef": {"name": "artifact-store-credentials"}}]


def test_an_external_bucket_needs_no_object_store_and_points_mlflow_at_its_endpoint() -> None:
    recorded = run_stack("dev", {
        "artifact_store_mode": "external", "artifact_bucket": "acme-mlflow",
        "s3_endpoint_url": "https://storage.example.com", "s3_access_key_id": "AKIAEXAMPLE",
        "s3_secret_access_key": "s3cr3t"})
    manifests = to_manifests(recorded.resources, redact=False)
    names = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    assert ("StatefulSet", "object-store") not in names
    assert ("Job", "create-bucket") not in names
    assert ("Secret", "object-store-s3-config") not in names
    assert named(manifests, "Secret", "artifact-store-credentials")["stringData"] == {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
    env = env_of(next(containers(named(manifests, "Deployment", "mlflow"))))
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "https://storage.example.com"
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://acme-mlflow/artifacts"
    assert recorded.outputs["artifact_store_uri"] == "s3://acme-mlflow"
    assert [c["metadata"]["name"] for c in of_kind(manifests, "CronJob")] == ["postgres-backup"]
