"""The metadata database of the tracking server: in-cluster PostgreSQL or an external one.

Either way the component ends with one Secret holding the SQLAlchemy URL
(key `url`), so the tracking server never knows which one it got.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.postgres import PostgresSpec, in_cluster_postgres
from mlops_platform.kubernetes.kube_types import Resources, resources
from mlops_platform.kubernetes.scraping import pushgateway_env
from mlops_platform.kubernetes.security import (
    WRITABLE_TMP,
    hardened_container,
    hardened_pod_spec,
    tokenless_service_account,
)
from mlops_platform.kubernetes.topology import DATABASE, DATABASE_BACKUP

DATABASE_NAME = "mlflow"
DATABASE_USER = "mlflow"
CREDENTIALS_SECRET = "postgres-credentials"  # noqa: S105 - a Secret's name
URL_KEY = "url"
BACKUP_RESOURCES = resources("100m", "128Mi", "500m", "512Mi")


@dataclass
class BackupTarget:
    """Where the nightly dump goes: a bucket of the artifact store."""

    schedule: str
    tools_image: str
    endpoint_url: pulumi.Input[str]
    bucket: str
    credentials_secret: pulumi.Input[str]
    # Where the upload reports its success (a Pushgateway); nowhere when unset.
    pushgateway_url: str | None = None


@dataclass
class MetadataDatabaseArgs:
    namespace: str
    image: str | None = None
    storage: str = "10Gi"
    storage_class: str | None = None
    resources: Resources | None = None
    backup: BackupTarget | None = None
    external_url: pulumi.Input[str] | None = None


class MetadataDatabase(pulumi.ComponentResource):
    """PostgreSQL StatefulSet, volume, generated password, Service and backup CronJob
    (infra.postgres), or the URL of an external database."""

    url: pulumi.Output[str]
    url_secret_name: pulumi.Output[str]

    def __init__(self, name: str, args: MetadataDatabaseArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:metadata_database:MetadataDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.external_url is not None:
            url = pulumi.Output.secret(args.external_url)
        else:
            url = self._in_cluster(name, args, child)
        secret = k8s.core.v1.Secret(
            f"{name}-url", metadata={"name": "mlflow-database", "namespace": args.namespace,
                                      "labels": DATABASE.labels},
            type="Opaque", string_data={URL_KEY: url}, opts=child)
        self.url = url
        self.url_secret_name = secret.metadata.name
        self.register_outputs({"url_secret_name": self.url_secret_name})

    def _in_cluster(self, name: str, args: MetadataDatabaseArgs,
                    child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        assert args.image and args.resources, "an in-cluster database needs image and resources"
        spec = PostgresSpec(part=DATABASE, namespace=args.namespace, image=args.image,
                            resources=args.resources, storage=args.storage,
                            storage_class=args.storage_class, user=DATABASE_USER,
                            database=DATABASE_NAME, credentials_secret=CREDENTIALS_SECRET)
        postgres = in_cluster_postgres(name, spec, child)
        if args.backup:
            self._backup(name, args, args.backup, postgres.credentials_secret_name, child)
        return pulumi.Output.secret(pulumi.Output.concat(
            "postgresql://", DATABASE_USER, ":", postgres.password, "@", spec.host, ":",
            str(spec.port), "/", DATABASE_NAME))

    def _backup(self, name: str, args: MetadataDatabaseArgs, backup: BackupTarget,
                credentials_secret: pulumi.Input[str], child: pulumi.ResourceOptions) -> None:
        tokenless_service_account(f"{name}-backup-sa", DATABASE_BACKUP.name, args.namespace,
                                  child)
        k8s.batch.v1.CronJob(
            f"{name}-backup",
            metadata={"name": DATABASE_BACKUP.name, "namespace": args.namespace,
                      "labels": DATABASE_BACKUP.labels},
            spec={"schedule": backup.schedule, "concurrencyPolicy": "Forbid",
                  "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
                  "jobTemplate": {"spec": {"backoffLimit": 2, "template": {
                      "metadata": {"labels": DATABASE_BACKUP.labels},
                      "spec": _backup_pod_spec(args, backup, credentials_secret)}}}},
            opts=child)


def _backup_pod_spec(args: MetadataDatabaseArgs, backup: BackupTarget,
                     credentials_secret: pulumi.Input[str]) -> dict:
    """Dump with the server's own image into a shared volume, then copy it to the bucket."""
    host = f"{DATABASE.name}.{args.namespace}.svc.cluster.local"
    dump = hardened_container(
        "dump", args.image, BACKUP_RESOURCES,
        command=["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" pg_dump --host "$DB_HOST" '
                 '--username "$POSTGRES_USER" --format custom --file /backup/mlflow.dump '
                 '"$POSTGRES_DB"'],
        env=[{"name": "DB_HOST", "value": host}],
        envFrom=[{"secretRef": {"name": credentials_secret}}],
        volumeMounts=[{"name": "backup", "mountPath": "/backup"}])
    upload = hardened_container(
        "upload", backup.tools_image, BACKUP_RESOURCES,
        command=["python", "-m", "mlops_platform.tools.upload_file", "/backup/mlflow.dump",
                 "--bucket", backup.bucket, "--key", "backups/postgres/{timestamp}.dump",
                 "--endpoint-url", backup.endpoint_url],
        env=[{"name": "HOME", "value": WRITABLE_TMP}, *pushgateway_env(backup.pushgateway_url)],
        envFrom=[{"secretRef": {"name": backup.credentials_secret}}],
        volumeMounts=[{"name": "backup", "mountPath": "/backup", "readOnly": True}])
    return hardened_pod_spec([upload], init_containers=[dump],
                             service_account=DATABASE_BACKUP.name,
                             volumes=[{"name": "backup", "emptyDir": {}}],
                             restart_policy="OnFailure")
