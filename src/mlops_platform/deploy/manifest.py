"""A project's `deploy/<env>.yaml`: which registered model versions serve where (GitOps).

Plain data, validated with pydantic: the governance checker and `mlops-deploy` read it
without Pulumi; the ModelServing component (model_serving.py) turns it into objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlops_platform.kubernetes.kube_types import (
    CronSchedule,
    DnsLabel,
    Resources,
    dns_label_from,
    resources,
)

# What a registry model name may hold here: it goes into models:/ URIs and Kubernetes names.
REGISTERED_MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class DriftCheck(BaseModel):
    """Where the drift check of a served model reads its data (URIs in the artifact store)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: str = Field(min_length=1)
    current: str = Field(min_length=1)
    schedule: CronSchedule = "0 * * * *"


class PerformanceCheck(BaseModel):
    """The scheduled check of a served model's labelled answers (``mlops-performance``): its
    primary metric per window against the value it was promoted with. The predictions and
    labels are where the log shipper puts them (``monitoring/<model>/served``, ``/labels``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(description="The project's primary metric (mlops-performance --metric).")
    baseline: float = Field(description="The value the champion was promoted with.")
    schedule: CronSchedule = "30 * * * *"
    window: str = Field(default="1d", pattern=r"^\d+[mhd]$")
    min_rows: int = Field(default=30, ge=1)
    max_drop: float | None = Field(default=None, ge=0)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        from mlops_platform.performance import METRICS

        if metric not in METRICS:
            raise ValueError(f"metric {metric!r} is none of {', '.join(METRICS)}")
        return metric


class BatchScoring(BaseModel):
    """A table in the artifact store scored on a schedule by the version the model serves
    (``mlops-score``): the scored rows go under ``output``, and every row is logged beside the
    served ones (``monitoring/<model>/served/``), so labels sent back for it join the same way."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: str = Field(pattern=r"^s3://[^/]+/[^ ]*[^/ ]\.(csv|parquet)$",
                       description="The rows to score: s3://<bucket>/<key>.csv or .parquet.")
    output: str = Field(pattern=r"^s3://[^/]+/([^ ]*/)?$",
                        description="Where each run writes scored-<UTC time>.csv: an s3:// "
                        "prefix ending in /.")
    schedule: CronSchedule = "0 2 * * *"


class Challenger(BaseModel):
    """A version tried against the served one (an A/B test or a canary): the serving pods
    answer a ``weight`` share of the rows with it, assigned by the row's entity key
    (``mlops_platform.traffic_split``), and log each row's arm."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int | None = Field(default=None, ge=1)
    alias: DnsLabel | None = None
    weight: float = Field(gt=0, le=1, description="The challenger's share of the rows.")

    @model_validator(mode="after")
    def _version_or_alias(self) -> Challenger:
        if (self.version is None) == (self.alias is None):
            raise ValueError("the challenger must name exactly one of version (a registry "
                             "version number) or alias (e.g. challenger)")
        return self

    def model_uri(self, name: str) -> str:
        return _model_uri(name, self.version, self.alias)


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
    performance: PerformanceCheck | None = None
    batch: BatchScoring | None = None
    challenger: Challenger | None = None
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
        if self.challenger is not None and self.challenger.model_uri(self.name) == self.model_uri:
            raise ValueError(f"model {self.name!r}: the challenger is the served version itself; "
                             "name another version or alias")
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
        return _model_uri(self.name, self.version, self.alias)

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


def _model_uri(name: str, version: int | None, alias: str | None) -> str:
    return f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"


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
