"""The MLflow tracking server and model registry (one server), behind basic auth and the
champion guard (only the promotion gate's user moves `champion`).

Runs are stored in the metadata database (its schema migrated once, by a Job,
before any server starts), artifacts are proxied by the server into the
artifact store (clients need only the tracking URI and a user). The admin
credentials are generated here and stay in the platform namespace; client
namespaces get a read-only user's credentials, created by a Job through the
auth API; the same Job creates the gate's user, whose credentials CI holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.artifact_store import ACCESS_KEY, SECRET_KEY
from infra.metadata_database import URL_KEY
from mlops_platform.deploy.model_serving import CLIENT_CREDENTIALS_SECRET, TRACKING_CREDENTIALS_KEYS
from mlops_platform.governance.champion_guard import APP_NAME as GUARD_APP
from mlops_platform.governance.champion_guard import GATE_USERNAME_ENV
from mlops_platform.governance.gate_identity import DEFAULT_GATE_USERNAME, GATE_ENV
from mlops_platform.kubernetes.kube_types import Resources, resources
from mlops_platform.kubernetes.scaling import autoscale, spread_over_nodes
from mlops_platform.kubernetes.scraping import METRICS_PORT_NAME, scrape_annotations
from mlops_platform.kubernetes.security import (
    WRITABLE_TMP,
    hardened_container,
    hardened_pod_spec,
    tokenless_service_account,
)
from mlops_platform.kubernetes.topology import (
    DATABASE_MIGRATION,
    REGISTRY_READER_SETUP,
    TRACKING,
    TRACKING_METRICS_PORT,
)
from mlops_platform.monitoring.tracking_server import MODULE as WRAPPER_MODULE
from mlops_platform.monitoring.tracking_server import wrapped
from mlops_platform.tools.create_reader import READER_ENV
from mlops_platform.tracking_auth import basic_auth_ini

SERVER_SECRET = "mlflow-server"  # noqa: S105 - a Secret's name
READER_SECRET = "mlflow-registry-reader"  # noqa: S105 - a Secret's name
READER_USERNAME = "registry-reader"
GATE_SECRET = "mlflow-promotion-gate"  # noqa: S105 - a Secret's name
AUTH_CONFIG_DIR = "/etc/mlflow"
# MLflow's exporter keeps its workers' metrics here (prometheus_client's multiprocess mode).
METRICS_DIR = f"{WRITABLE_TMP}/mlflow-metrics"
# Runs the server with MLflow's exporter on, and serves its series on a metrics port without
# login: behind the basic-auth app, /metrics on the API port answers the admin only.
METRICS_WRAPPER = WRAPPER_MODULE
MIGRATION_RESOURCES = resources("100m", "256Mi", "1", "1Gi")
READER_JOB_RESOURCES = resources("50m", "64Mi", "250m", "256Mi")


@dataclass
class TrackingServerArgs:
    namespace: str
    image: str
    resources: Resources
    database_url: pulumi.Input[str]
    database_url_secret: pulumi.Input[str]
    artifact_store_endpoint: str
    artifact_bucket: str
    artifact_store_credentials_secret: pulumi.Input[str]
    tools_image: str
    replicas: int = 1
    max_replicas: int | None = None
    admin_username: str = "admin"
    host: str | None = None
    ingress_class: str = "nginx"
    max_body_size: str = "5g"
    tls: bool = True
    tls_issuer: str | None = None
    client_namespaces: list[str] = field(default_factory=list)
    scrape_mode: str = "annotations"


class TrackingServer(pulumi.ComponentResource):
    """MLflow Deployment after its migration Job, Service, read-only client user, the
    promotion gate's user (the only one the server lets move `champion`), optional Ingress,
    HPA and PDB above one replica."""

    internal_uri: str
    uri: str
    admin_password: pulumi.Output[str]
    gate_username: str
    gate_password: pulumi.Output[str]

    def __init__(self, name: str, args: TrackingServerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:tracking_server:TrackingServer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.internal_uri = (f"http://{TRACKING.name}.{args.namespace}.svc.cluster.local:"
                             f"{TRACKING.port}")
        scheme = "https" if args.tls else "http"
        self.uri = f"{scheme}://{args.host}" if args.host else self.internal_uri
        self.admin_username = args.admin_username
        self.admin_password = random.RandomPassword(
            f"{name}-admin-password", length=32, special=False, opts=child).result
        flask_key = random.RandomPassword(f"{name}-flask-key", length=48, special=False,
                                          opts=child).result
        server_secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata={"name": SERVER_SECRET, "namespace": args.namespace,
                      "labels": TRACKING.labels},
            type="Opaque",
            string_data={
                "MLFLOW_AUTH_ADMIN_USERNAME": args.admin_username,
                "MLFLOW_AUTH_ADMIN_PASSWORD": self.admin_password,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": flask_key,
                # Users and permissions live beside the runs (own tables and migrations).
                "basic_auth.ini": pulumi.Output.secret(args.database_url).apply(basic_auth_ini),
            },
            opts=child)
        reader_secret, reader_password = _generated_user(
            f"{name}-reader", READER_SECRET, args.namespace, READER_ENV, READER_USERNAME, child)
        self.gate_username = DEFAULT_GATE_USERNAME
        gate_secret, self.gate_password = _generated_user(
            f"{name}-gate", GATE_SECRET, args.namespace, GATE_ENV, self.gate_username, child)
        for namespace in args.client_namespaces:
            k8s.core.v1.Secret(
                f"{name}-client-credentials-{namespace}",
                metadata={"name": CLIENT_CREDENTIALS_SECRET, "namespace": namespace,
                          "labels": TRACKING.labels},
                type="Opaque",
                string_data=dict(zip(TRACKING_CREDENTIALS_KEYS,
                                     (READER_USERNAME, reader_password), strict=True)),
                opts=child)
        tokenless_service_account(f"{name}-sa", TRACKING.name, args.namespace, child)
        migration = _migration_job(f"{name}-db-upgrade", args, child)
        metadata = {"name": TRACKING.name, "namespace": args.namespace, "labels": TRACKING.labels}
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=metadata,
            spec={"replicas": args.replicas, "selector": {"matchLabels": TRACKING.labels},
                  "template": {"metadata": _pod_metadata(args.scrape_mode),
                               "spec": _pod_spec(args, server_secret.metadata.name)}},
            # Servers start on a migrated schema: with 2+ replicas, each would otherwise
            # begin the same migration at once.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[migration]))
        _reader_job(f"{name}-create-reader", args, server_secret.metadata.name,
                    reader_secret.metadata.name, gate_secret.metadata.name, self.internal_uri,
                    pulumi.ResourceOptions(parent=self, depends_on=[deployment],
                                           delete_before_replace=True))
        k8s.core.v1.Service(
            f"{name}-service", metadata=metadata,
            spec={"selector": TRACKING.labels,
                  "ports": [{"name": "http", "port": TRACKING.port, "targetPort": "http"},
                            {"name": METRICS_PORT_NAME, "port": TRACKING_METRICS_PORT,
                             "targetPort": METRICS_PORT_NAME}]},
            opts=child)
        if args.host:
            _ingress(f"{name}-ingress", metadata, args, child)
        if args.replicas > 1:
            autoscale(f"{name}-autoscaling", metadata, args.replicas,
                      args.max_replicas or 2 * args.replicas, TRACKING.labels, child)
        self.register_outputs({"uri": self.uri, "internal_uri": self.internal_uri})


def _pod_metadata(scrape_mode: str) -> dict:
    annotations = scrape_annotations(scrape_mode, TRACKING_METRICS_PORT)
    return {"labels": TRACKING.labels, **({"annotations": annotations} if annotations else {})}


def _generated_user(resource_name: str, secret_name: str, namespace: pulumi.Input[str],
                    env_names: tuple[str, str], username: str,
                    child: pulumi.ResourceOptions) -> tuple[k8s.core.v1.Secret, pulumi.Output[str]]:
    """A registry user's generated password, and the Secret its setup Job reads both from."""
    password = random.RandomPassword(
        f"{resource_name}-password", length=32, special=False, opts=child).result
    secret = k8s.core.v1.Secret(
        f"{resource_name}-secret",
        metadata={"name": secret_name, "namespace": namespace,
                  "labels": REGISTRY_READER_SETUP.labels},
        type="Opaque",
        string_data=dict(zip(env_names, (username, password), strict=True)),
        opts=child)
    return secret, password


def _allowed_hosts(args: TrackingServerArgs) -> str:
    """Host headers MLflow answers (an exact match): the Service's names on any port (a
    port-forward's too), loopback on any port, and the Ingress host."""
    service = f"{TRACKING.name}.{args.namespace}"
    names = [TRACKING.name, service, f"{service}.svc", f"{service}.svc.cluster.local",
             "localhost", "127.0.0.1"]
    hosts = [host for name in names for host in (name, f"{name}:*")]
    return ",".join([*hosts, *([args.host] if args.host else [])])


def _backend_store_env(args: TrackingServerArgs) -> dict:
    return {"name": "MLFLOW_BACKEND_STORE_URI",
            "valueFrom": {"secretKeyRef": {"name": args.database_url_secret, "key": URL_KEY}}}


def _migration_job(name: str, args: TrackingServerArgs,
                   child: pulumi.ResourceOptions) -> k8s.batch.v1.Job:
    """Runs and registry schema, then the auth tables, migrated once by the server's image."""
    # The kubelet puts the Secret's URL into `$(…)`: no shell, no URL in the spec.
    url = "$(MLFLOW_BACKEND_STORE_URI)"
    common = {"env": [_backend_store_env(args), {"name": "HOME", "value": WRITABLE_TMP}]}
    runs = hardened_container("runs-schema", args.image, MIGRATION_RESOURCES,
                              command=["mlflow", "db", "upgrade", url], **common)
    auth = hardened_container("auth-schema", args.image, MIGRATION_RESOURCES,
                              command=["python", "-m", "mlflow.server.auth", "db", "upgrade",
                                       "--url", url], **common)
    tokenless_service_account(f"{name}-sa", DATABASE_MIGRATION.name, args.namespace, child)
    return k8s.batch.v1.Job(
        name,
        metadata={"name": DATABASE_MIGRATION.name, "namespace": args.namespace,
                  "labels": DATABASE_MIGRATION.labels},
        spec={"backoffLimit": 6, "template": {
            "metadata": {"labels": DATABASE_MIGRATION.labels},
            "spec": hardened_pod_spec([auth], init_containers=[runs],
                                      service_account=DATABASE_MIGRATION.name,
                                      restart_policy="OnFailure")}},
        # A new server image replaces the Job, so an upgrade migrates before the rollout.
        opts=pulumi.ResourceOptions(parent=child.parent, delete_before_replace=True))


def _reader_job(name: str, args: TrackingServerArgs, server_secret: pulumi.Input[str],
                reader_secret: pulumi.Input[str], gate_secret: pulumi.Input[str],
                tracking_uri: str, opts: pulumi.ResourceOptions) -> None:
    """The registry's two users that are not the admin: the reader and the gate's."""
    def from_secret(env_name: str, secret: pulumi.Input[str]) -> dict:
        return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret,
                                                                 "key": env_name}}}

    admin = [from_secret("MLFLOW_AUTH_ADMIN_USERNAME", server_secret),
             from_secret("MLFLOW_AUTH_ADMIN_PASSWORD", server_secret),
             {"name": "HOME", "value": WRITABLE_TMP}]
    container = hardened_container(
        "create-reader", args.tools_image, READER_JOB_RESOURCES,
        command=["python", "-m", "mlops_platform.tools.create_reader",
                 "--tracking-uri", tracking_uri],
        env=[*admin, from_secret("MLFLOW_READER_USERNAME", reader_secret),
             from_secret("MLFLOW_READER_PASSWORD", reader_secret)])
    gate = hardened_container(
        "create-gate-user", args.tools_image, READER_JOB_RESOURCES,
        command=["python", "-m", "mlops_platform.governance.gate_identity",
                 "--tracking-uri", tracking_uri],
        env=[*admin, *(from_secret(env_name, gate_secret) for env_name in GATE_ENV)])
    tokenless_service_account(f"{name}-sa", REGISTRY_READER_SETUP.name, args.namespace,
                              pulumi.ResourceOptions(parent=opts.parent))
    k8s.batch.v1.Job(
        name,
        metadata={"name": REGISTRY_READER_SETUP.name, "namespace": args.namespace,
                  "labels": REGISTRY_READER_SETUP.labels},
        spec={"backoffLimit": 6, "template": {
            "metadata": {"labels": REGISTRY_READER_SETUP.labels},
            "spec": hardened_pod_spec([container, gate],
                                      service_account=REGISTRY_READER_SETUP.name,
                                      restart_policy="OnFailure")}},
        opts=opts)


def _pod_spec(args: TrackingServerArgs, server_secret: pulumi.Input[str]) -> dict:
    def from_secret(env_name: str, secret: pulumi.Input[str], key: str) -> dict:
        return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}

    env = [
        _backend_store_env(args),
        {"name": "MLFLOW_ARTIFACTS_DESTINATION", "value": f"s3://{args.artifact_bucket}/artifacts"},
        {"name": "MLFLOW_S3_ENDPOINT_URL", "value": args.artifact_store_endpoint},
        from_secret(ACCESS_KEY, args.artifact_store_credentials_secret, ACCESS_KEY),
        from_secret(SECRET_KEY, args.artifact_store_credentials_secret, SECRET_KEY),
        from_secret("MLFLOW_AUTH_ADMIN_USERNAME", server_secret, "MLFLOW_AUTH_ADMIN_USERNAME"),
        from_secret("MLFLOW_AUTH_ADMIN_PASSWORD", server_secret, "MLFLOW_AUTH_ADMIN_PASSWORD"),
        from_secret("MLFLOW_FLASK_SERVER_SECRET_KEY", server_secret,
                    "MLFLOW_FLASK_SERVER_SECRET_KEY"),
        {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": f"{AUTH_CONFIG_DIR}/basic_auth.ini"},
        {"name": "MLFLOW_SERVER_ALLOWED_HOSTS", "value": _allowed_hosts(args)},
        {"name": "MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "value": "false"},
        # The champion guard lets only this user move `champion` (a name, not a secret).
        {"name": GATE_USERNAME_ENV, "value": DEFAULT_GATE_USERNAME},
        {"name": "HOME", "value": WRITABLE_TMP},
    ]
    probe = {"httpGet": {"path": "/health", "port": "http",
                         "httpHeaders": [{"name": "Host", "value": "localhost"}]}}
    container = hardened_container(
        "mlflow", args.image, args.resources,
        command=wrapped(
            "python", ["mlflow", "server", "--host", "0.0.0.0",  # noqa: S104
                       "--port", str(TRACKING.port), "--serve-artifacts", "--app-name", GUARD_APP,
                       "--workers", "2"],
            metrics_port=TRACKING_METRICS_PORT, metrics_host="0.0.0.0",  # noqa: S104
            metrics_dir=METRICS_DIR),
        ports=[{"name": "http", "containerPort": TRACKING.port},
               {"name": METRICS_PORT_NAME, "containerPort": TRACKING_METRICS_PORT}],
        env=env,
        volumeMounts=[{"name": "auth-config", "mountPath": AUTH_CONFIG_DIR, "readOnly": True}],
        startupProbe={**probe, "periodSeconds": 5, "failureThreshold": 60},
        readinessProbe={**probe, "periodSeconds": 10},
        livenessProbe={**probe, "periodSeconds": 20, "failureThreshold": 3})
    auth_volume = {"name": "auth-config", "secret": {
        "secretName": server_secret, "items": [{"key": "basic_auth.ini",
                                                 "path": "basic_auth.ini"}]}}
    spread = {"topologySpreadConstraints": spread_over_nodes(TRACKING.labels)} \
        if args.replicas > 1 else {}
    return hardened_pod_spec([container], service_account=TRACKING.name, volumes=[auth_volume],
                             **spread)


def _ingress(name: str, metadata: dict, args: TrackingServerArgs,
             opts: pulumi.ResourceOptions) -> None:
    # nginx refuses bodies over 1 MB by default: artifact uploads go through this Ingress.
    annotations = {"nginx.ingress.kubernetes.io/proxy-body-size": args.max_body_size}
    if args.tls_issuer:
        annotations["cert-manager.io/cluster-issuer"] = args.tls_issuer
    spec: dict = {
        "ingressClassName": args.ingress_class,
        "rules": [{"host": args.host, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": TRACKING.name,
                                    "port": {"name": "http"}}}}]}}],
    }
    if args.tls:
        spec["tls"] = [{"hosts": [args.host], "secretName": f"{TRACKING.name}-tls"}]
    k8s.networking.v1.Ingress(name, metadata={**metadata, "annotations": annotations},
                              spec=spec, opts=opts)
