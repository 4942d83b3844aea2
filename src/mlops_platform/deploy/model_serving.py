"""Model serving: MLServer with its MLflow runtime, one Deployment per declared model.

The declaration (`ServedModel`, `DeploymentManifest` in a project's
`deploy/<env>.yaml`) is the GitOps unit: a project's own small Pulumi program
loads it, reads the platform's namespace and tracking URI through a
StackReference and hands them to `ModelServing` as plain values or Outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_platform.contract import (
    APPROVED_BY_ANNOTATION,
    DATA_CONTRACT_ARTIFACT,
    MODEL_URI_ENV,
    TAG_MODEL_DIGEST,
)
from mlops_platform.deploy.batch_scoring_job import batch_scoring_cron_job
from mlops_platform.deploy.drift_job import STORE_KEYS, DriftJobPlace
from mlops_platform.deploy.manifest import ServedModel
from mlops_platform.kubernetes.kube_types import resources
from mlops_platform.kubernetes.scaling import autoscale, spread_over_nodes
from mlops_platform.kubernetes.scraping import (
    METRICS_PORT_NAME,
    SHIPPER_METRICS_PORT_NAME,
    scrape_annotations,
)
from mlops_platform.kubernetes.security import (
    WRITABLE_TMP,
    hardened_container,
    hardened_pod_spec,
    tokenless_service_account,
)
from mlops_platform.kubernetes.topology import (
    BATCH_SCORING,
    SERVING,
    SERVING_GRPC_PORT,
    SERVING_METRICS_PORT,
    SHIPPER_METRICS_PORT,
)
from mlops_platform.prediction_log import labels_prefix, served_prefix
from mlops_platform.serving import (
    AB_TEST,
    MB,
    PREDICTION_LOG_NAME,
    RUNTIME_CLASS,
    RUNTIME_MODULE,
    ServingSettings,
    ab_test_setting,
)
from mlops_platform.tools.ship_predictions import DEFAULT_INTERVAL_SECONDS

TRACKING_CREDENTIALS_KEYS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
# The platform writes the tracking credentials into this Secret of the serving namespace.
CLIENT_CREDENTIALS_SECRET = "mlflow-client-credentials"  # noqa: S105 - a Secret's name
SERVING_SERVICE_ACCOUNT = "mlserver"
# The object-store key pair the log shipper writes with, copied into the serving namespace.
SHIPPING_CREDENTIALS_SECRET = "prediction-log-credentials"  # noqa: S105 - a Secret's name
PREDICTION_LOG_DIR = "/var/log/predictions"
SHIPPER_RESOURCES = resources("50m", "64Mi", "200m", "256Mi")
# What local serving runs by default, so the cluster's pods run the same.
SERVING_DEFAULTS = ServingSettings(model_uri="")
READY_ONCE_STARTED_SECONDS = 7 * 24 * 3600.0


@dataclass
class PredictionLogShipping:
    """Where the serving pods ship their prediction log (the drift checks' current data).

    The platform gives the key pair and writes the shippers' Secret into the serving
    namespace; a project's deployment gives none and its shippers use that Secret, so
    its deploy identity needs no right on Secrets and reads no credential.
    """

    tools_image: pulumi.Input[str]
    endpoint_url: pulumi.Input[str]
    bucket: pulumi.Input[str]
    access_key_id: pulumi.Input[str] | None = None
    secret_access_key: pulumi.Input[str] | None = None
    interval_seconds: pulumi.Input[float] = DEFAULT_INTERVAL_SECONDS

    def __post_init__(self) -> None:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "PredictionLogShipping got one half of the store's key pair: give both "
                "access_key_id and secret_access_key (to write the shippers' Secret) or "
                "neither (to use the platform's)")

    @property
    def writes_credentials(self) -> bool:
        return self.access_key_id is not None


@dataclass
class ModelServingArgs:
    """What serving needs from the platform, as plain values or Outputs (a StackReference's)."""

    namespace: pulumi.Input[str]
    tracking_uri: pulumi.Input[str]
    image: pulumi.Input[str]
    models: list[ServedModel]
    credentials_secret: str = CLIENT_CREDENTIALS_SECRET
    service_account: str = SERVING_SERVICE_ACCOUNT
    # The platform creates the pods' ServiceAccount once; a project's program only adds models.
    manage_service_account: bool = True
    extra_env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Without it the pods log nothing: no sidecar, MLServer's plain MLflow runtime.
    prediction_log: PredictionLogShipping | None = None
    # The platform's `scrape_mode`: `annotations` puts prometheus.io/* on the pods (MLServer's
    # port) and on the Service (the shipper's); with `operator` the platform's PodMonitor
    # selects every serving pod of the namespace.
    scrape_mode: str = "annotations"


class ModelServing(pulumi.ComponentResource):
    """One MLServer Deployment, Service (and HPA and PDB above one replica) per served model,
    and its batch-scoring CronJob when it declares one."""

    def __init__(self, name: str, args: ModelServingArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:model_serving:ModelServing", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.manage_service_account:
            tokenless_service_account(f"{name}-sa", args.service_account, args.namespace, child)
        if args.prediction_log and args.prediction_log.writes_credentials:
            # Also without models of its own: projects' shippers use it.
            _shipping_credentials(name, args.namespace, args.prediction_log, child)
        self.endpoints: dict[str, pulumi.Output[str]] = {}
        for model in args.models:
            self.endpoints[model.name] = self._serve(name, model, args, child)
        self.register_outputs({"endpoints": self.endpoints})

    def _serve(self, name: str, model: ServedModel, args: ModelServingArgs,
               child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        labels = model_labels(model.object_name)
        metadata = {"name": model.object_name, "namespace": args.namespace, "labels": labels}
        approval = {"annotations": {APPROVED_BY_ANNOTATION: model.approved_by}} \
            if model.approved_by else {}
        k8s.apps.v1.Deployment(
            f"{name}-{model.object_name}", metadata={**metadata, **approval},
            spec={"replicas": model.replicas, "selector": {"matchLabels": labels},
                  "template": {"metadata": _pod_metadata(labels, args.scrape_mode),
                               "spec": _pod_spec(model, args)}},
            opts=child)
        shipping = args.prediction_log is not None
        service = k8s.core.v1.Service(
            f"{name}-{model.object_name}",
            metadata={**metadata, **_service_annotations(shipping, args.scrape_mode)},
            spec={"selector": labels, "ports": _service_ports(shipping)}, opts=child)
        if model.autoscaled:
            autoscale(f"{name}-{model.object_name}", metadata, model.replicas, model.ceiling,
                      labels, child)
        if model.batch is not None:
            _batch_scoring(name, model, args, child)
        return pulumi.Output.concat("http://", service.metadata.name, ".", args.namespace,
                                    ".svc.cluster.local:", str(SERVING.port))


def _batch_scoring(name: str, model: ServedModel, args: ModelServingArgs,
                   child: pulumi.ResourceOptions) -> None:
    """The model's batch-scoring CronJob: the serving pods' identity and registry
    credentials, the shippers' key pair for the store, its rows logged where they ship."""
    shipping = args.prediction_log
    if shipping is None:
        raise ValueError(f"model {model.name!r} declares batch scoring, which logs its rows "
                         "where the log shipper puts served ones, but this platform ships no "
                         "prediction log: give ModelServingArgs a prediction_log")
    place = DriftJobPlace(
        namespace=args.namespace, part=BATCH_SCORING, service_account=args.service_account,
        tools_image=shipping.tools_image, store_endpoint=shipping.endpoint_url,
        bucket=shipping.bucket, credentials_secret=SHIPPING_CREDENTIALS_SECRET)
    batch_scoring_cron_job(f"{name}-{model.object_name}-batch-scoring", model, place,
                           _registry_env(args), child)


def _registry_env(args: ModelServingArgs) -> list[dict[str, Any]]:
    """How the serving pods (and their models' batch scoring) reach the registry: the tracking
    server, the credentials Secret, and the platform's other variables."""
    return [{"name": "MLFLOW_TRACKING_URI", "value": args.tracking_uri},
            *({"name": key, "valueFrom": {"secretKeyRef": {
                "name": args.credentials_secret, "key": key}}}
              for key in TRACKING_CREDENTIALS_KEYS),
            *({"name": key, "value": value} for key, value in args.extra_env.items())]


def model_labels(object_name: str) -> dict[str, str]:
    return {**SERVING.labels, "app.kubernetes.io/instance": object_name}


def _pod_metadata(labels: dict[str, str], scrape_mode: str) -> dict[str, Any]:
    annotations = scrape_annotations(scrape_mode, SERVING_METRICS_PORT)
    return {"labels": labels, **({"annotations": annotations} if annotations else {})}


def _service_annotations(shipping: bool, scrape_mode: str) -> dict[str, Any]:
    """The log shipper's port, announced on the Service: pod annotations name one port per pod
    (MLServer's), and the usual `kubernetes-service-endpoints` job reads these on every pod
    behind the Service."""
    annotations = scrape_annotations(scrape_mode, SHIPPER_METRICS_PORT) if shipping else {}
    return {"annotations": annotations} if annotations else {}


def _service_ports(shipping: bool) -> list[dict[str, Any]]:
    ports = [{"name": "http", "port": SERVING.port, "targetPort": "http"},
             {"name": "grpc", "port": SERVING_GRPC_PORT, "targetPort": "grpc"},
             {"name": METRICS_PORT_NAME, "port": SERVING_METRICS_PORT,
              "targetPort": METRICS_PORT_NAME}]
    if shipping:
        ports.append({"name": SHIPPER_METRICS_PORT_NAME, "port": SHIPPER_METRICS_PORT,
                      "targetPort": SHIPPER_METRICS_PORT_NAME})
    return ports


def _shipping_credentials(name: str, namespace: pulumi.Input[str],
                          shipping: PredictionLogShipping, child: pulumi.ResourceOptions) -> None:
    k8s.core.v1.Secret(
        f"{name}-shipping-credentials",
        metadata={"name": SHIPPING_CREDENTIALS_SECRET, "namespace": namespace,
                  "labels": SERVING.labels},
        type="Opaque",
        string_data=dict(zip(STORE_KEYS, (pulumi.Output.secret(shipping.access_key_id),
                                          pulumi.Output.secret(shipping.secret_access_key)),
                             strict=True)),
        opts=child)


def _runtime_env(model: ServedModel,
                 shipping: PredictionLogShipping | None) -> list[dict[str, Any]]:
    """The platform's runtime (built into the serving image) with local serving's defaults:
    busy-time batching, the row limit and its request metrics, labelled with the declared
    model and version (or alias); with shipping, every request is also logged into the
    shared log volume, with local serving's rotation bounds."""
    labels = {"model": model.name, "version": str(model.version or model.alias)}
    extra: dict[str, Any] = {"batch_rows": SERVING_DEFAULTS.batch_rows,
                             "max_rows": SERVING_DEFAULTS.max_rows, "metrics": labels,
                             "metrics_port": SERVING_METRICS_PORT,
                             "metrics_host": "0.0.0.0",  # noqa: S104 (the pod's scrape port)
                             "contract_artifact": DATA_CONTRACT_ARTIFACT,
                             # The pod loads only the files the gate promoted.
                             "model_digest_tag": TAG_MODEL_DIGEST}
    if model.challenger is not None:
        # Both arms in each pod, behind the one Service: the split is the runtime's, by key.
        extra[AB_TEST] = ab_test_setting(model.challenger.model_uri(model.name),
                                         model.challenger.weight)
    if shipping is not None:
        extra |= {"prediction_log": f"{PREDICTION_LOG_DIR}/{PREDICTION_LOG_NAME}",
                  "sample_rate": SERVING_DEFAULTS.sample_rate,
                  "log_max_bytes": int(SERVING_DEFAULTS.log_max_mb * MB),
                  "log_backups": SERVING_DEFAULTS.log_backups}
    return [{"name": "MLSERVER_MODEL_IMPLEMENTATION", "value": f"{RUNTIME_MODULE}.{RUNTIME_CLASS}"},
            {"name": "MLSERVER_MODEL_EXTRA", "value": json.dumps(extra, sort_keys=True)}]


def _shipper(model: ServedModel, shipping: PredictionLogShipping) -> dict[str, Any]:
    """The sidecar that moves the log into the object store, under the model's prefix."""
    return hardened_container(
        "log-shipper", shipping.tools_image, SHIPPER_RESOURCES,
        command=["python", "-m", "mlops_platform.tools.ship_predictions",
                 f"{PREDICTION_LOG_DIR}/{PREDICTION_LOG_NAME}", "--bucket", shipping.bucket,
                 "--prefix", served_prefix(model.name),
                 "--labels-prefix", labels_prefix(model.name),
                 "--endpoint-url", shipping.endpoint_url,
                 "--interval", _seconds(shipping.interval_seconds),
                 # Every address: Prometheus scrapes it from outside the pod.
                 "--metrics-port", str(SHIPPER_METRICS_PORT),
                 "--metrics-host", "0.0.0.0"],  # noqa: S104
        env=[{"name": "HOME", "value": WRITABLE_TMP},
             {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        envFrom=[{"secretRef": {"name": SHIPPING_CREDENTIALS_SECRET}}],
        ports=[{"name": SHIPPER_METRICS_PORT_NAME, "containerPort": SHIPPER_METRICS_PORT}],
        volumeMounts=[{"name": "predictions", "mountPath": PREDICTION_LOG_DIR}],
        # A stuck loop restarts the shipper; readiness asks only that it started, so a
        # shipping problem never takes the model out of its Service.
        readinessProbe=_heartbeat_probe(READY_ONCE_STARTED_SECONDS, period=30),
        livenessProbe=_heartbeat_probe(
            pulumi.Output.from_input(shipping.interval_seconds).apply(lambda s: 5 * s),
            period=60))


def _seconds(seconds: pulumi.Input[float]) -> pulumi.Output[str]:
    """A count of seconds as a flag's value; a project reads it from the platform's outputs."""
    return pulumi.Output.from_input(seconds).apply(lambda value: f"{float(value):g}")


def _heartbeat_probe(within: pulumi.Input[float], *, period: int) -> dict[str, Any]:
    return {"exec": {"command": [
        "python", "-m", "mlops_platform.tools.ship_predictions",
        f"{PREDICTION_LOG_DIR}/{PREDICTION_LOG_NAME}", "--alive-within", _seconds(within)]},
        "periodSeconds": period, "timeoutSeconds": 10, "failureThreshold": 3}


def _pod_spec(model: ServedModel, args: ModelServingArgs) -> dict[str, Any]:
    shipping = args.prediction_log
    env = [
        {"name": "MLSERVER_MODEL_NAME", "value": model.name},
        *_runtime_env(model, shipping),
        {"name": MODEL_URI_ENV, "value": model.model_uri},
        {"name": "MLSERVER_HTTP_PORT", "value": str(SERVING.port)},
        {"name": "MLSERVER_GRPC_PORT", "value": str(SERVING_GRPC_PORT)},
        # One process, as `make serve` runs it: the runtime serves the metrics on their own
        # port (MLSERVER_MODEL_EXTRA), so MLServer's endpoint, and its middleware, are off.
        {"name": "MLSERVER_PARALLEL_WORKERS", "value": "0"},
        {"name": "MLSERVER_METRICS_ENDPOINT", "value": ""},
        {"name": "HOME", "value": WRITABLE_TMP},
        # MLServer writes both under its working directory by default, which is read-only.
        {"name": "MLSERVER_METRICS_DIR", "value": f"{WRITABLE_TMP}/mlserver-metrics"},
        {"name": "MLSERVER_ENVIRONMENTS_DIR", "value": f"{WRITABLE_TMP}/mlserver-envs"},
        *_registry_env(args),
    ]
    probe = {"httpGet": {"path": "/v2/health/ready", "port": "http"}, "periodSeconds": 10}
    container = hardened_container(
        "mlserver", args.image, model.resources,
        ports=[{"name": "http", "containerPort": SERVING.port},
               {"name": "grpc", "containerPort": SERVING_GRPC_PORT},
               {"name": METRICS_PORT_NAME, "containerPort": SERVING_METRICS_PORT}],
        env=env, volumeMounts=[{"name": "models", "mountPath": "/mnt/models"},
                               *([{"name": "predictions", "mountPath": PREDICTION_LOG_DIR}]
                                 if shipping else [])],
        # Loading the model downloads it from the registry first: give it time.
        startupProbe={**probe, "failureThreshold": 60},
        readinessProbe=probe,
        livenessProbe={"httpGet": {"path": "/v2/health/live", "port": "http"},
                       "periodSeconds": 20})
    spread = {"topologySpreadConstraints": spread_over_nodes(model_labels(model.object_name))} \
        if model.autoscaled else {}
    containers, volumes = [container], [{"name": "models", "emptyDir": {}}]
    if shipping:
        containers.append(_shipper(model, shipping))
        # The runtime's rotation bounds its log to (backups + 1) files of log_max_mb; the
        # shipper's outbox holds at most one such take at a time (it takes no more while an
        # upload is pending), so twice that, and a margin for the lock file.
        limit = f"{int(2 * SERVING_DEFAULTS.log_max_mb * (SERVING_DEFAULTS.log_backups + 1)) + 8}Mi"
        volumes.append({"name": "predictions", "emptyDir": {"sizeLimit": limit}})
    return hardened_pod_spec(containers, service_account=args.service_account,
                             volumes=volumes, **spread)
