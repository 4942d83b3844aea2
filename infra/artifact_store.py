"""The artifact store: in-cluster SeaweedFS (its S3 API) or an external S3 bucket.

Either way the component ends with the S3 endpoint, the bucket and one Secret
with the keys `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, the names every
S3 client (MLflow, boto3) reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mlops_platform.deploy.drift_job import STORE_KEYS
from mlops_platform.kubernetes.kube_types import Resources, resources
from mlops_platform.kubernetes.security import (
    WRITABLE_TMP,
    hardened_container,
    hardened_pod_spec,
    tokenless_service_account,
)
from mlops_platform.kubernetes.topology import BUCKET_SETUP, OBJECT_STORE

ACCESS_KEY, SECRET_KEY = STORE_KEYS
CREDENTIALS_SECRET = "artifact-store-credentials"  # noqa: S105 - a Secret's name
S3_CONFIG_SECRET = "object-store-s3-config"  # noqa: S105 - a Secret's name
S3_CONFIG_DIR = "/etc/seaweedfs"
DATA_DIR = "/data"
JOB_RESOURCES = resources("50m", "64Mi", "250m", "256Mi")


@dataclass
class ExternalBucket:
    endpoint_url: str | None
    region: str
    access_key_id: pulumi.Input[str]
    secret_access_key: pulumi.Input[str]


@dataclass
class ArtifactStoreArgs:
    namespace: str
    bucket: str
    image: str | None = None
    tools_image: str | None = None
    storage: str = "20Gi"
    storage_class: str | None = None
    resources: Resources | None = None
    external: ExternalBucket | None = None


class ArtifactStore(pulumi.ComponentResource):
    """SeaweedFS StatefulSet, volume, generated credentials, Service and a bucket-creating Job."""

    endpoint_url: str
    bucket: str
    credentials_secret_name: pulumi.Output[str]

    def __init__(self, name: str, args: ArtifactStoreArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:artifact_store:ArtifactStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = args.bucket
        if args.external is not None:
            access_key = pulumi.Output.secret(args.external.access_key_id)
            secret_key = pulumi.Output.secret(args.external.secret_access_key)
            self.endpoint_url = args.external.endpoint_url or \
                f"https://s3.{args.external.region}.amazonaws.com"
        else:
            access_key = pulumi.Output.from_input("mlflow")
            secret_key = random.RandomPassword(f"{name}-secret-key", length=40, special=False,
                                               opts=child).result
            self.endpoint_url = (f"http://{OBJECT_STORE.name}.{args.namespace}"
                                 f".svc.cluster.local:{OBJECT_STORE.port}")
        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={"name": CREDENTIALS_SECRET, "namespace": args.namespace,
                      "labels": OBJECT_STORE.labels},
            type="Opaque", string_data={ACCESS_KEY: access_key, SECRET_KEY: secret_key},
            opts=child)
        self.credentials_secret_name = credentials.metadata.name
        # The serving pods' log shipper writes with this pair (a copy in their namespace).
        self.access_key_id, self.secret_access_key = access_key, secret_key
        if args.external is None:
            s3_config = k8s.core.v1.Secret(
                f"{name}-s3-config",
                metadata={"name": S3_CONFIG_SECRET, "namespace": args.namespace,
                          "labels": OBJECT_STORE.labels},
                type="Opaque",
                string_data={"s3.json": pulumi.Output.secret(
                    pulumi.Output.all(access_key, secret_key).apply(_s3_identities))},
                opts=child)
            self._in_cluster(name, args, credentials.metadata.name, s3_config.metadata.name,
                             child)
        self.register_outputs({"endpoint_url": self.endpoint_url, "bucket": self.bucket,
                               "credentials_secret_name": self.credentials_secret_name})

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}"

    def _in_cluster(self, name: str, args: ArtifactStoreArgs,
                    credentials_secret: pulumi.Output[str], s3_config_secret: pulumi.Output[str],
                    child: pulumi.ResourceOptions) -> None:
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": OBJECT_STORE.name, "namespace": args.namespace,
                      "labels": OBJECT_STORE.labels},
            spec={"selector": OBJECT_STORE.labels, "ports": [
                {"name": "s3", "port": OBJECT_STORE.port, "targetPort": "s3"}]},
            opts=child)
        tokenless_service_account(f"{name}-sa", OBJECT_STORE.name, args.namespace, child)
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={"name": OBJECT_STORE.name, "namespace": args.namespace,
                      "labels": OBJECT_STORE.labels},
            spec=_statefulset_spec(args, s3_config_secret, service.metadata.name), opts=child)
        tokenless_service_account(f"{name}-bucket-setup-sa", BUCKET_SETUP.name, args.namespace,
                                  child)
        k8s.batch.v1.Job(
            f"{name}-bucket-setup",
            metadata={"name": BUCKET_SETUP.name, "namespace": args.namespace,
                      "labels": BUCKET_SETUP.labels},
            # No ttlSecondsAfterFinished: a Job the cluster deletes would be re-created by
            # every later `pulumi up`.
            spec={"backoffLimit": 6, "template": {
                "metadata": {"labels": BUCKET_SETUP.labels},
                "spec": _bucket_setup_pod_spec(args, credentials_secret, self.endpoint_url)}},
            # The Job waits for the store to answer; replacing it re-runs the idempotent setup.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True))


def _s3_identities(keys: list[str]) -> str:
    """SeaweedFS's S3 identities file: one identity, the platform's key pair, full rights."""
    access_key, secret_key = keys
    return json.dumps({"identities": [{
        "name": "mlops-platform",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}, indent=2)


def _statefulset_spec(args: ArtifactStoreArgs, s3_config_secret: pulumi.Input[str],
                      service_name: pulumi.Input[str]) -> dict:
    # Master, volume server, filer and S3 gateway in one process: one volume, one pod.
    container = hardened_container(
        "seaweedfs", args.image, args.resources,
        command=["weed", "server", f"-dir={DATA_DIR}", "-s3", f"-s3.port={OBJECT_STORE.port}",
                 f"-s3.config={S3_CONFIG_DIR}/s3.json"],
        ports=[{"name": "s3", "containerPort": OBJECT_STORE.port}],
        env=[{"name": "HOME", "value": WRITABLE_TMP}],
        volumeMounts=[{"name": "data", "mountPath": DATA_DIR},
                      {"name": "s3-config", "mountPath": S3_CONFIG_DIR, "readOnly": True}],
        readinessProbe={"tcpSocket": {"port": "s3"}, "periodSeconds": 10},
        livenessProbe={"tcpSocket": {"port": "s3"}, "periodSeconds": 20,
                       "failureThreshold": 6})
    claim = {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": args.storage}},
        **({"storageClassName": args.storage_class} if args.storage_class else {})}}
    s3_config = {"name": "s3-config", "secret": {
        "secretName": s3_config_secret, "items": [{"key": "s3.json", "path": "s3.json"}]}}
    return {
        "serviceName": service_name, "replicas": 1,
        "selector": {"matchLabels": OBJECT_STORE.labels},
        "template": {"metadata": {"labels": OBJECT_STORE.labels},
                     "spec": hardened_pod_spec([container], service_account=OBJECT_STORE.name,
                                               volumes=[s3_config])},
        "volumeClaimTemplates": [claim],
    }


def _bucket_setup_pod_spec(args: ArtifactStoreArgs, credentials_secret: pulumi.Input[str],
                           endpoint_url: str) -> dict:
    assert args.tools_image, "the bucket Job runs the tools image"
    container = hardened_container(
        "create-bucket", args.tools_image, JOB_RESOURCES,
        command=["python", "-m", "mlops_platform.tools.create_bucket",
                 "--bucket", args.bucket, "--endpoint-url", endpoint_url],
        env=[{"name": "HOME", "value": WRITABLE_TMP}],
        envFrom=[{"secretRef": {"name": credentials_secret}}])
    return hardened_pod_spec([container], service_account=BUCKET_SETUP.name,
                             restart_policy="OnFailure")
