"""Model serving: MLServer with its MLflow runtime, one Deployment per declared model.

The declaration (`ServedModel`, `DeploymentManifest` in a project's
`deploy/<env>.yaml`) is the GitOps unit: a project's own small Pulumi program
loads it, reads the platform's namespace and tracking URI through a
StackReference and hands them to `ModelServing` as plain values or Outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlops_platform.contract import (
    APPROVED_BY_ANNOTATION,
    MODEL_URI_ENV,
)
from mlops_platform.kubernetes.kube_types import CronSchedule, DnsLabel, dns_label_from
from mlops_platform.kubernetes.scaling import autoscale, spread_over_nodes
from mlops_platform.kubernetes.security import (
    Resources,
    hardened_container,
    hardened_pod_spec,
    resources,
    tokenless_service_account,
)
from mlops_platform.kubernetes.topology import SERVING, SERVING_GRPC_PORT

# What a registry model name may hold here: it goes into models:/ URIs and Kubernetes names.
REGISTERED_MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TRACKING_CREDENTIALS_KEYS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
# The platform writes the tracking credentials into this Secret of the serving namespace.
CLIENT_CREDENTIALS_SECRET = "mlflow-client-credentials"  # noqa: S105 - a Secret's name
SERVING_SERVICE_ACCOUNT = "mlserver"


class DriftCheck(BaseModel):
    """Where the drift check of a served model reads its data (URIs in the artifact store)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: str = Field(min_length=1)
    current: str = Field(min_length=1)
    schedule: CronSchedule = "0 * * * *"


class ServedModel(BaseModel):
    """One registered model served in one environment, by version or by alias (exactly one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=REGISTERED_MODEL_NAME, max_length=200,
                      description="Registered model name in the MLflow registry.")
    version: int | None = Field(default=None, ge=1)
    alias: DnsLabel | None = None
    replicas: int = Field(default=1, ge=1, le=50)
    max_replicas: int | None = Field(default=None, ge=1, le=100)
    resources: Resources = resources("250m", "512Mi", "1", "1Gi")
    drift: DriftCheck | None = None
    approved_by: str | None = Field(
        default=None, min_length=1,
        description="Who approved this model version (as the promotion gate recorded it); "
        "the policy pack requires it where approvals are mandatory.")

    @model_validator(mode="after")
    def _version_or_alias(self) -> ServedModel:
        if not self.object_name:
            raise ValueError(f"model {self.name!r} yields no Kubernetes name; use letters or "
                             "digits in it")
        if (self.version is None) == (self.alias is None):
            raise ValueError(f"model {self.name!r} must name exactly one of version "
                             "(a registry version number) or alias (e.g. champion)")
        if self.max_replicas is not None and self.max_replicas < self.replicas:
            raise ValueError(f"model {self.name!r}: max_replicas {self.max_replicas} is below "
                             f"replicas {self.replicas}")
        return self

    @property
    def object_name(self) -> str:
        """Name of the model's Kubernetes objects (registry names may hold '_' and capitals)."""
        return dns_label_from(self.name)

    @property
    def model_uri(self) -> str:
        if self.alias:
            return f"models:/{self.name}@{self.alias}"
        return f"models:/{self.name}/{self.version}"

    @property
    def autoscaled(self) -> bool:
        return self.replicas > 1

    @property
    def ceiling(self) -> int:
        return self.max_replicas or 2 * self.replicas


class DeploymentManifest(BaseModel):
    """A project's `deploy/<env>.yaml`: which model versions serve in which environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: Literal["dev", "staging", "prod"]
    platform_stack: str = Field(min_length=1, description="Pulumi stack of the platform, "
                                "e.g. my-org/mlops-platform/dev")
    models: list[ServedModel]

    @model_validator(mode="after")
    def _unique_names(self) -> DeploymentManifest:
        duplicates = duplicate_object_names(self.models)
        if duplicates:
            raise ValueError(f"models declared twice: {', '.join(duplicates)}")
        return self


def duplicate_object_names(models: list[ServedModel]) -> list[str]:
    """Models whose Kubernetes objects would share a name (same model, or e.g. a_b and a-b)."""
    names = [model.object_name for model in models]
    return sorted({model.name for model in models if names.count(model.object_name) > 1})


class DeploymentManifestError(ValueError):
    """A deployment manifest that cannot be used, with the file, the problem and the fix."""


def load_deployment(path: Path | str) -> DeploymentManifest:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise DeploymentManifestError(f"{path} does not exist: declare the served models in it "
                                      "(environment, platform_stack, models)") from None
    except yaml.YAMLError as err:
        raise DeploymentManifestError(f"{path} is not valid YAML: {err}") from None
    try:
        return DeploymentManifest.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: "
                             f"{e['msg'].removeprefix('Value error, ')}" for e in err.errors())
        raise DeploymentManifestError(f"{path} is not a valid deployment manifest: {problems}"
                                      ) from None


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
        {"name": "HOME", "value": "/tmp"},  # noqa: S108 - the pod's private emptyDir
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
