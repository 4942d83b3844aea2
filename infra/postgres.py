"""One in-cluster PostgreSQL: generated password, credentials Secret, Service, StatefulSet.

The metadata database and Feast's online store each run one, built here so both are
hardened, probed and stored alike. The objects are children of the calling component and
named from its name, so moving them here renamed nothing a deployed stack holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mlops_platform.kubernetes.kube_types import Resources
from mlops_platform.kubernetes.security import (
    hardened_container,
    hardened_pod_spec,
    tokenless_service_account,
)
from mlops_platform.kubernetes.topology import Part


@dataclass(frozen=True)
class PostgresSpec:
    """What differs between the instances: the part (name, labels, port), the database and
    its owner, and the name of the Secret holding the image's POSTGRES_* settings."""

    part: Part
    namespace: str
    image: str
    resources: Resources
    storage: str
    storage_class: str | None
    user: str
    database: str
    credentials_secret: str

    @property
    def host(self) -> str:
        """The Service's in-cluster DNS name."""
        return f"{self.part.name}.{self.namespace}.svc.cluster.local"

    @property
    def port(self) -> int:
        assert self.part.port is not None, f"{self.part} serves no port"
        return self.part.port


@dataclass(frozen=True)
class Postgres:
    """What clients of the instance need: its owner's password and the credentials Secret."""

    password: pulumi.Output[str]
    credentials_secret_name: pulumi.Output[str]


def in_cluster_postgres(name: str, spec: PostgresSpec,
                        child: pulumi.ResourceOptions) -> Postgres:
    """The instance's objects, each named `<name>-<role>` under the caller's component."""
    password = random.RandomPassword(f"{name}-password", length=32, special=False, opts=child)
    labels = spec.part.labels
    credentials = k8s.core.v1.Secret(
        f"{name}-credentials",
        metadata={"name": spec.credentials_secret, "namespace": spec.namespace,
                  "labels": labels},
        type="Opaque",
        string_data={"POSTGRES_USER": spec.user, "POSTGRES_DB": spec.database,
                     "POSTGRES_PASSWORD": password.result},
        opts=child)
    service = k8s.core.v1.Service(
        f"{name}-service",
        metadata={"name": spec.part.name, "namespace": spec.namespace, "labels": labels},
        spec={"selector": labels, "clusterIP": "None", "ports": [
            {"name": "postgres", "port": spec.port, "targetPort": "postgres"}]},
        opts=child)
    k8s.apps.v1.StatefulSet(
        f"{name}-statefulset",
        metadata={"name": spec.part.name, "namespace": spec.namespace, "labels": labels},
        spec=statefulset_spec(spec, credentials.metadata.name, service.metadata.name),
        opts=child)
    tokenless_service_account(f"{name}-sa", spec.part.name, spec.namespace, child)
    return Postgres(password=pulumi.Output.secret(password.result),
                    credentials_secret_name=credentials.metadata.name)


def statefulset_spec(spec: PostgresSpec, credentials_secret: pulumi.Input[str],
                     service_name: pulumi.Input[str]) -> dict:
    probe_command = ["pg_isready", "--host", "127.0.0.1", "--username", spec.user,
                     "--dbname", spec.database]
    container = hardened_container(
        "postgres", spec.image, spec.resources,
        ports=[{"name": "postgres", "containerPort": spec.port}],
        envFrom=[{"secretRef": {"name": credentials_secret}}],
        # The volume's root belongs to root; PostgreSQL wants a data dir it owns.
        env=[{"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"}],
        volumeMounts=[{"name": "data", "mountPath": "/var/lib/postgresql/data"},
                      {"name": "run", "mountPath": "/var/run/postgresql"}],
        readinessProbe={"exec": {"command": probe_command}, "periodSeconds": 10},
        livenessProbe={"exec": {"command": probe_command}, "periodSeconds": 20,
                       "failureThreshold": 6})
    claim = {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": spec.storage}},
        **({"storageClassName": spec.storage_class} if spec.storage_class else {})}}
    labels = spec.part.labels
    return {
        "serviceName": service_name, "replicas": 1,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels},
                     "spec": hardened_pod_spec([container], service_account=spec.part.name,
                                               volumes=[{"name": "run", "emptyDir": {}}])},
        "volumeClaimTemplates": [claim],
    }
