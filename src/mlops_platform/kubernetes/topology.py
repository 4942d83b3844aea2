"""Who talks to whom: the pod labels and ports of every platform part and the allowed paths.

The components label their pods from here and Governance writes its network
policies from here, so a policy can never select labels no pod carries.
"""

from __future__ import annotations

from dataclasses import dataclass

PART_OF = "mlops-platform"


@dataclass(frozen=True)
class Part:
    """A set of pods: the workload name in its labels, the namespace role, the port it serves."""

    name: str
    namespace_role: str  # "platform" or "serving"
    port: int | None = None

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/part-of": PART_OF}


TRACKING = Part("mlflow", "platform", 5000)
DATABASE = Part("postgres", "platform", 5432)
# Named for its role, not the product (SeaweedFS's S3 gateway today), so swapping the
# server renames nothing clients use.
OBJECT_STORE = Part("object-store", "platform", 8333)
DATABASE_BACKUP = Part("postgres-backup", "platform")
BUCKET_SETUP = Part("create-bucket", "platform")
DATABASE_MIGRATION = Part("mlflow-db-upgrade", "platform")
REGISTRY_READER_SETUP = Part("create-registry-reader", "platform")
DRIFT_MONITOR = Part("drift-monitor", "platform")
# The drift checks of the models a project deploys, beside them in the serving namespace.
SERVING_DRIFT_MONITOR = Part("serving-drift-monitor", "serving")
SERVING = Part("mlserver", "serving", 8080)
# The served models' batch-scoring CronJobs, beside them: the registry and the store, as they.
BATCH_SCORING = Part("batch-scoring", "serving")
SERVING_GRPC_PORT = 8081
# Prometheus metrics: the serving runtime's (in MLServer's process), and the log shipper sidecar's.
SERVING_METRICS_PORT = 8082
SHIPPER_METRICS_PORT = 9102
# The tracking server's (mlops_platform.monitoring.tracking_server): MLflow's exporter, served
# without login apart from the API port, whose basic auth lets only the admin read /metrics.
TRACKING_METRICS_PORT = 9103
# Where batch jobs push their last run (Prometheus' Pushgateway), and Prometheus itself.
PUSHGATEWAY = Part("pushgateway", "platform", 9091)
PROMETHEUS = Part("prometheus", "platform", 9090)
# Feast's online store (a PostgreSQL of its own), when the stack provisions one: read by the
# feature server in the serving pods, written by the projects' materialisation jobs.
FEATURE_STORE = Part("feast-online-store", "platform", 5432)
FEATURE_MATERIALISATION = Part("feast-materialise", "serving")


@dataclass(frozen=True)
class IngressController:
    """Traffic from the ingress controller's namespace (outside the platform)."""

    namespace: str


@dataclass(frozen=True)
class Scraper:
    """Prometheus in the monitoring namespace (kube-prometheus-stack's labels its pods so)."""

    namespace: str

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": PROMETHEUS.name}


@dataclass(frozen=True)
class ExternalService:
    """A managed service outside the cluster (database or S3), reached on one port."""

    name: str
    port: int


Source = Part | IngressController | Scraper
Destination = Part | ExternalService


@dataclass(frozen=True)
class Path:
    source: Source
    destination: Destination
    port: int


def platform_paths(*, ingress_namespace: str, external_database_port: int | None,
                   external_store_port: int | None,
                   monitoring_namespace: str = "monitoring",
                   feature_store: bool = False) -> list[Path]:
    """Exactly the connections the platform needs, besides DNS.

    ingress -> tracking and serving; tracking and its migration job -> database;
    tracking -> store; serving and the batch-scoring jobs -> tracking and store; the
    registry-reader job ->
    tracking; the backup job -> database and store; the bucket job and the drift
    checks (the platform's, and the projects' in the serving namespace) -> store. An
    external database or store replaces the in-cluster one (and its jobs) by an
    egress-only destination. The monitoring namespace's Prometheus reaches the metrics
    ports only (the tracking server's, MLServer's, the log shipper's, the Pushgateway's);
    the drift and backup jobs push their results to the Pushgateway. With a feature store,
    the serving pods (Feast's feature server) and the materialisation jobs -> its online
    store, and the materialisation jobs -> the store (the offline data and Feast's registry).
    """
    ingress = IngressController(ingress_namespace)
    database: Destination = (ExternalService("database", external_database_port)
                             if external_database_port else DATABASE)
    store: Destination = (ExternalService("object-store", external_store_port)
                          if external_store_port else OBJECT_STORE)
    paths = [
        Path(ingress, TRACKING, TRACKING.port),
        Path(ingress, SERVING, SERVING.port),
        Path(TRACKING, database, _port(database)),
        Path(DATABASE_MIGRATION, database, _port(database)),
        Path(REGISTRY_READER_SETUP, TRACKING, TRACKING.port),
        Path(TRACKING, store, _port(store)),
        Path(SERVING, TRACKING, TRACKING.port),
        Path(SERVING, store, _port(store)),
        Path(BATCH_SCORING, TRACKING, TRACKING.port),
        Path(BATCH_SCORING, store, _port(store)),
        Path(DRIFT_MONITOR, store, _port(store)),
        Path(DRIFT_MONITOR, PUSHGATEWAY, PUSHGATEWAY.port),
        Path(SERVING_DRIFT_MONITOR, store, _port(store)),
        Path(SERVING_DRIFT_MONITOR, PUSHGATEWAY, PUSHGATEWAY.port),
        *scrape_paths(Scraper(monitoring_namespace)),
    ]
    if not external_database_port:
        paths += [Path(DATABASE_BACKUP, DATABASE, DATABASE.port),
                  Path(DATABASE_BACKUP, store, _port(store)),
                  Path(DATABASE_BACKUP, PUSHGATEWAY, PUSHGATEWAY.port)]
    if not external_store_port:
        paths.append(Path(BUCKET_SETUP, OBJECT_STORE, OBJECT_STORE.port))
    if feature_store:
        paths += [Path(SERVING, FEATURE_STORE, FEATURE_STORE.port),
                  Path(FEATURE_MATERIALISATION, FEATURE_STORE, FEATURE_STORE.port),
                  Path(FEATURE_MATERIALISATION, store, _port(store))]
    return paths


def scrape_paths(scraper: Scraper) -> list[Path]:
    """What Prometheus scrapes: every metrics port, and nothing else."""
    return [Path(scraper, TRACKING, TRACKING_METRICS_PORT),
            Path(scraper, SERVING, SERVING_METRICS_PORT),
            Path(scraper, SERVING, SHIPPER_METRICS_PORT),
            Path(scraper, PUSHGATEWAY, PUSHGATEWAY.port)]


def _port(destination: Destination) -> int:
    assert destination.port is not None, f"{destination} serves no port"
    return destination.port
