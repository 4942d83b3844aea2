"""Feast's online store: a PostgreSQL of its own, and its connection for the serving namespace.

A project baked with `feature_store: feast` reads features by key from the online store (a
Feast feature server) and fills it with `feast materialize` jobs, both in the serving
namespace (docs/feature-store.md), so the connection goes there as one Secret whose
keys are environment variable names: a pod takes it with `envFrom` and the project's
feature_store.yaml reads each with Feast's `${VAR}` substitution (docs/provision.md). The
database holds only what materialisation rebuilds from the offline store, so it has no
backup job of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.postgres import PostgresSpec, in_cluster_postgres
from mlops_platform.kubernetes.kube_types import Resources
from mlops_platform.kubernetes.topology import FEATURE_STORE

DATABASE_NAME = "feast"
DATABASE_USER = "feast"
CREDENTIALS_SECRET = "feast-online-store-credentials"  # noqa: S105 - a Secret's name
CONNECTION_SECRET = "feast-online-store"  # noqa: S105 - a Secret's name
# The connection Secret's keys: the variables a feature_store.yaml names as ${…}.
HOST_KEY = "FEAST_ONLINE_HOST"
PORT_KEY = "FEAST_ONLINE_PORT"
DATABASE_KEY = "FEAST_ONLINE_DATABASE"
USER_KEY = "FEAST_ONLINE_USER"
PASSWORD_KEY = "FEAST_ONLINE_PASSWORD"  # noqa: S105 - a key's name
# The in-cluster server speaks no TLS (as the metadata database); Feast's default is
# `require`, which would refuse it.
SSLMODE_KEY = "FEAST_ONLINE_SSLMODE"
SSLMODE = "disable"
CONNECTION_KEYS = (HOST_KEY, PORT_KEY, DATABASE_KEY, USER_KEY, PASSWORD_KEY, SSLMODE_KEY)


@dataclass
class FeatureStoreArgs:
    platform_namespace: str
    serving_namespace: str
    image: str
    resources: Resources
    storage: str = "5Gi"
    storage_class: str | None = None


class FeatureStore(pulumi.ComponentResource):
    """The online store's PostgreSQL (infra.postgres) and the connection Secret for serving."""

    secret_name: pulumi.Output[str]

    def __init__(self, name: str, args: FeatureStoreArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:feature_store:FeatureStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = PostgresSpec(part=FEATURE_STORE, namespace=args.platform_namespace,
                            image=args.image, resources=args.resources, storage=args.storage,
                            storage_class=args.storage_class, user=DATABASE_USER,
                            database=DATABASE_NAME, credentials_secret=CREDENTIALS_SECRET)
        postgres = in_cluster_postgres(name, spec, child)
        # The password is a secret output, so Pulumi keeps the whole stringData encrypted.
        connection = {HOST_KEY: spec.host, PORT_KEY: str(spec.port), DATABASE_KEY: DATABASE_NAME,
                      USER_KEY: DATABASE_USER, PASSWORD_KEY: postgres.password,
                      SSLMODE_KEY: SSLMODE}
        secret = k8s.core.v1.Secret(
            f"{name}-connection",
            metadata={"name": CONNECTION_SECRET, "namespace": args.serving_namespace,
                      "labels": FEATURE_STORE.labels},
            type="Opaque", string_data=connection, opts=child)
        self.secret_name = secret.metadata.name
        self.register_outputs({"secret_name": self.secret_name})
