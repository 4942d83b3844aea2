"""Model serving: MLServer with its MLflow runtime, one Deployment per declared model.

The declaration (`ServedModel`, `DeploymentManifest` in a project's
`deploy/<env>.yaml`) is the GitOps unit: a project's own small Pulumi program
loads it, reads the platform's namespace and tracking URI through a
StackReference and hands them to `ModelServing` as plain values or Outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_platform.contract import (
    APPROVED_BY_ANNOTATION,
    MODEL_URI_ENV,
)
from mlops_platform.deploy.manifest import ServedModel
from mlops_platform.kubernetes.scaling import autoscale, spread_over_nodes
from mlops_platform.kubernetes.security import (
    WRITABLE_TMP,
    hardened_container,
    hardened_pod_spec,
    tokenless_service_account,
)
from mlops_platform.kubernetes.topology import SERVING, SERVING_GRPC_PORT

TRACKING_CREDENTIALS_KEYS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
# The platform writes the tracking credentials into this Secret of the serving namespace.
CLIENT_CREDENTIALS_SECRET = "mlflow-client-credentials"  # noqa: S105 - a Secret's name
SERVING_SERVICE_ACCOUNT = "mlserver"


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


class ModelServing(pulumi.ComponentResource):
    """One MLServer Deployment, Service (and HPA and PDB above one replica) per served model."""

    def __init__(self, name: str, args: ModelServingArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:model_serving:ModelServing", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.manage_service_account:
            tokenless_service_account(f"{name}-sa", args.service_account, args.namespace, child)
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
                  "template": {"metadata": {"labels": labels},
                               "spec": _pod_spec(model, args)}},
            opts=child)
        service = k8s.core.v1.Service(
            f"{name}-{model.object_name}", metadata=metadata,
            spec={"selector": labels, "ports": [
                {"name": "http", "port": SERVING.port, "targetPort": "http"},
                {"name": "grpc", "port": SERVING_GRPC_PORT, "targetPort": "grpc"}]},
            opts=child)
        if model.autoscaled:
            autoscale(f"{name}-{model.object_name}", metadata, model.replicas, model.ceiling,
                      labels, child)
        return pulumi.Output.concat("http://", service.metadata.name, ".", args.namespace,
                                    ".svc.cluster.local:", str(SERVING.port))


def model_labels(object_name: str) -> dict[str, str]:
    return {**SERVING.labels, "app.kubernetes.io/instance": object_name}


def _pod_spec(model: ServedModel, args: ModelServingArgs) -> dict[str, Any]:
    secret = args.credentials_secret
    env = [
        {"name": "MLSERVER_MODEL_NAME", "value": model.name},
        {"name": "MLSERVER_MODEL_IMPLEMENTATION", "value": "mlserver_mlflow.MLflowRuntime"},
        {"name": MODEL_URI_ENV, "value": model.model_uri},
        {"name": "MLSERVER_HTTP_PORT", "value": str(SERVING.port)},
        {"name": "MLSERVER_GRPC_PORT", "value": str(SERVING_GRPC_PORT)},
        {"name": "MLFLOW_TRACKING_URI", "value": args.tracking_uri},
        *({"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
          for key in TRACKING_CREDENTIALS_KEYS),
        {"name": "HOME", "value": WRITABLE_TMP},
        # MLServer writes both under its working directory by default, which is read-only.
        {"name": "MLSERVER_METRICS_DIR", "value": f"{WRITABLE_TMP}/mlserver-metrics"},
        {"name": "MLSERVER_ENVIRONMENTS_DIR", "value": f"{WRITABLE_TMP}/mlserver-envs"},
        *({"name": key, "value": value} for key, value in args.extra_env.items()),
    ]
    probe = {"httpGet": {"path": "/v2/health/ready", "port": "http"}, "periodSeconds": 10}
    container = hardened_container(
        "mlserver", args.image, model.resources,
        ports=[{"name": "http", "containerPort": SERVING.port},
               {"name": "grpc", "containerPort": SERVING_GRPC_PORT}],
        env=env, volumeMounts=[{"name": "models", "mountPath": "/mnt/models"}],
        # Loading the model downloads it from the registry first: give it time.
        startupProbe={**probe, "failureThreshold": 60},
        readinessProbe=probe,
        livenessProbe={"httpGet": {"path": "/v2/health/live", "port": "http"},
                       "periodSeconds": 20})
    spread = {"topologySpreadConstraints": spread_over_nodes(model_labels(model.object_name))} \
        if model.autoscaled else {}
    return hardened_pod_spec([container], service_account=args.service_account,
                             volumes=[{"name": "models", "emptyDir": {}}], **spread)
