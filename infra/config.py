"""The typed stack configuration: every key declared once, validated when the program starts.

Each field is one `mlops-platform:<key>` of `Pulumi.<stack>.yaml`, with its type, default
and meaning; docs/reference/configuration.md's table is checked against this class. A bad
value stops the program with the key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo

from infra.images import ImageRef, parse_image, validate_registry
from mlops_platform import __version__
from mlops_platform.deploy.manifest import ServedModel, duplicate_object_names
from mlops_platform.kubernetes.kube_types import (
    CronSchedule,
    DnsLabel,
    DnsName,
    MemoryQuantity,
    Resources,
    resources,
)
from mlops_platform.kubernetes.scraping import ScrapeMode
from mlops_platform.monitoring.alerts import RUNBOOK_PAGE, AlertThresholds
from mlops_platform.tools.ship_predictions import DEFAULT_INTERVAL_SECONDS

PROJECT = "mlops-platform"
SEAWEEDFS_VERSION = "4.22"
PUSHGATEWAY_VERSION = "v1.11.4"
STACKS = ("dev", "staging", "prod")


class NamespaceQuota(BaseModel):
    """The ResourceQuota of each platform namespace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_cpu: str = "4"
    requests_memory: str = "8Gi"
    limits_cpu: str = "8"
    limits_memory: str = "16Gi"
    pods: int = Field(default=30, ge=1)


class PlatformConfig(BaseModel):
    """Stack configuration of the platform (namespace `mlops-platform:` in Pulumi.<stack>.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: Literal["dev", "staging", "prod"] = Field(
        description="Which environment this stack is; names the default namespaces.")
    platform_namespace: DnsLabel | None = Field(
        default=None, description="Namespace of tracking server, database, store and monitoring "
        "(default `mlops-<environment>`).")
    serving_namespace: DnsLabel | None = Field(
        default=None, description="Namespace of the model servers and the CD identity "
        "(default `mlops-<environment>-serving`).")
    ingress_namespace: DnsLabel = Field(
        default="ingress-nginx", description="Namespace of the ingress controller, the only "
        "source allowed in from outside the platform.")
    ingress_class: str = Field(default="nginx", description="IngressClass of the tracking "
                               "server's Ingress.")
    ingress_max_body_size: str = Field(
        default="5g", pattern=r"^(0|[1-9][0-9]*[kmg]?)$", description="Largest request body "
        "the Ingress passes to the tracking server (artifact uploads; nginx size, `0` for no "
        "limit).")
    tracking_host: DnsName | None = Field(
        default=None, description="Public host name of the tracking server; no Ingress when unset.")
    tls: bool = Field(default=True, description="Serve the Ingress over TLS (certificate in "
                      "the Secret `mlflow-tls`).")
    tls_issuer: str | None = Field(
        default=None, description="cert-manager ClusterIssuer that fills the TLS secret; "
        "bring your own secret when unset.")
    storage_class: str | None = Field(
        default=None, description="StorageClass of the volumes (cluster default when unset).")
    image_registry: str = Field(
        default="", description="Registry or mirror prefix put before every image reference "
        "that names no registry host of its own (e.g. `registry.example.com/mirror`); empty "
        "pulls those from Docker Hub (or from the node's own store, see `make images`).")
    require_image_digests: bool = Field(
        default=False, description="Refuse images not pinned by `@sha256:` digest.")
    tracking_image: str = Field(default=f"mlops-platform/mlflow-server:{__version__}",
                                description="MLflow server image (`make images`).")
    database_image: str = Field(
        default="postgres:15.8-alpine",
        description="PostgreSQL image; keep its major version equal to the tools image's "
        "`pg_dump` and `pg_restore` (15, Debian bookworm) so backups restore.")
    object_store_image: str = Field(default=f"chrislusf/seaweedfs:{SEAWEEDFS_VERSION}",
                                    description="SeaweedFS image of the in-cluster S3 store.")
    serving_image: str = Field(default=f"mlops-platform/serving:{__version__}",
                               description="MLServer image with its MLflow runtime "
                               "(`make images`).")
    tools_image: str = Field(default=f"mlops-platform/tools:{__version__}",
                             description="This repository's tools image (drift checks, bucket, "
                             "backup and registry-user jobs; `make images`).")
    pushgateway_image: str = Field(
        default=f"prom/pushgateway:{PUSHGATEWAY_VERSION}", description="Prometheus' "
        "Pushgateway image, where the drift and backup jobs push their last run.")
    tracking_replicas: int = Field(default=1, ge=1, le=20, description="Tracking server "
                                   "replicas; above 1 adds an HPA and a PodDisruptionBudget.")
    tracking_max_replicas: int | None = Field(
        default=None, ge=1, le=50, description="HPA ceiling (default twice the replicas).")
    tracking_resources: Resources = Field(
        default=resources("250m", "512Mi", "1", "1Gi"),
        description="Requests and limits of the tracking server container.")
    tracking_admin_username: DnsLabel = Field(
        default="admin", description="MLflow basic-auth admin user (password generated).")
    database_mode: Literal["in_cluster", "external"] = Field(
        default="in_cluster", description="`in_cluster` PostgreSQL StatefulSet or an "
        "`external` database.")
    database_url: SecretStr | None = Field(
        default=None, description="Secret. SQLAlchemy URL of the external database "
        "(`postgresql://user:pw@host:5432/db`); required when database_mode is external.")
    database_storage: MemoryQuantity = Field(default="10Gi", description="Volume size of the "
                                             "in-cluster database.")
    database_resources: Resources = Field(
        default=resources("250m", "512Mi", "1", "1Gi"),
        description="Requests and limits of the PostgreSQL container.")
    database_backup_schedule: CronSchedule = Field(
        default="0 3 * * *", description="When the in-cluster database is dumped to the "
        "artifact store.")
    feature_store: Literal["none", "postgres"] = Field(
        default="none", description="Feast's online store for the projects baked with "
        "`feature_store: feast`: `postgres` runs a PostgreSQL of its own (the database_image) "
        "in the platform namespace and puts its connection in the Secret `feast-online-store` "
        "of the serving namespace (docs/provision.md, Feast's online store); `none` creates "
        "nothing.")
    feature_store_storage: MemoryQuantity = Field(default="5Gi", description="Volume size "
                                                  "of Feast's online store.")
    feature_store_resources: Resources = Field(
        default=resources("100m", "256Mi", "500m", "512Mi"),
        description="Requests and limits of the online store's PostgreSQL container.")
    artifact_store_mode: Literal["in_cluster", "external"] = Field(
        default="in_cluster", description="`in_cluster` SeaweedFS StatefulSet or an `external` "
        "S3 bucket.")
    artifact_bucket: DnsLabel = Field(default="mlflow", description="Bucket of artifacts, "
                                      "backups and drift reports.")
    artifact_storage: MemoryQuantity = Field(default="20Gi", description="Volume size of "
                                             "the in-cluster SeaweedFS.")
    artifact_store_resources: Resources = Field(
        default=resources("250m", "512Mi", "1", "1Gi"),
        description="Requests and limits of the SeaweedFS container.")
    s3_endpoint_url: str | None = Field(
        default=None, description="Endpoint of the external S3 API (unset for AWS S3).")
    s3_region: str = Field(default="us-east-1", description="Region of the external bucket.")
    s3_access_key_id: SecretStr | None = Field(
        default=None, description="Secret. Access key of the external bucket.")
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="Secret. Secret key of the external bucket.")
    served_models: list[ServedModel] = Field(
        default_factory=list, description="Models the platform serves itself (projects deploy "
        "theirs from `deploy/<env>.yaml`); list of {name, version or alias, replicas, "
        "resources, drift, approved_by}.")
    prediction_log_ship_seconds: float = Field(
        default=DEFAULT_INTERVAL_SECONDS, ge=1, le=3600, description="How often each serving "
        "pod's log shipper moves its rotated prediction logs to the artifact store.")
    scrape_mode: ScrapeMode = Field(
        default="annotations", description="How Prometheus finds the metrics ports: "
        "`annotations` (`prometheus.io/scrape`, `port`, `path` on the pods) or `operator` "
        "(prometheus-operator's ServiceMonitor and PodMonitor objects; needs its CRDs, e.g. "
        "kube-prometheus-stack).")
    monitoring_namespace: DnsLabel = Field(
        default="monitoring", description="Namespace of the Prometheus that scrapes the "
        "platform (pods labelled `app.kubernetes.io/name: prometheus`), the only source let "
        "in to the metrics ports.")
    monitor_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels on the ServiceMonitors and PodMonitors, so "
        "your Prometheus selects them (kube-prometheus-stack: `{release: <its release "
        "name>}`, unless it selects every monitor).")
    alert_thresholds: AlertThresholds = Field(
        default_factory=AlertThresholds, description="When each alert fires {latency_p99_"
        "seconds, server_error_ratio, contract_rejection_ratio, no_traffic_window, "
        "model_max_age, backup_period, shipper_max_lag, …}; every key and its default in "
        "docs/monitoring.md.")
    runbook_page: str = Field(
        default=RUNBOOK_PAGE, description="Address of the monitoring page the alerts' "
        "`runbook_url` links to (each alert adds its own `#anchor`); point it at your "
        "published docs.")
    namespace_quota: NamespaceQuota = Field(
        default_factory=NamespaceQuota, description="ResourceQuota of each namespace "
        "{requests_cpu, requests_memory, limits_cpu, limits_memory, pods}.")
    policy_enforcement: Literal["advisory", "mandatory"] = Field(
        default="advisory", description="Enforcement level the CrossGuard pack applies to "
        "this stack.")

    @model_validator(mode="after")
    def _consistent(self) -> PlatformConfig:
        refs = {key: parse_image_setting(key, getattr(self, key)) for key in IMAGE_KEYS}
        unpinned = [key for key, ref in refs.items() if not ref.digest]
        if self.require_image_digests and unpinned:
            others = f" (nor are {', '.join(unpinned[1:])})" if unpinned[1:] else ""
            raise ConfigError(unpinned[0], getattr(self, unpinned[0]), "is not pinned by "
                              f"digest while require_image_digests is true{others}; append "
                              "the digest your registry serves, from `crane digest "
                              "<registry>/<image>:<tag>` or the image release workflow's "
                              "pull request")
        validate_registry_setting(self.image_registry)
        if self.database_mode == "external" and self.database_url is None:
            raise ConfigError("database_url", None, "is required when database_mode is "
                              "external; set it with `pulumi config set --secret database_url "
                              "postgresql://…`")
        if self.artifact_store_mode == "external" and (
                self.s3_access_key_id is None or self.s3_secret_access_key is None):
            raise ConfigError("s3_access_key_id", None, "and s3_secret_access_key are required "
                              "when artifact_store_mode is external; set both with "
                              "`pulumi config set --secret`")
        if self.tracking_max_replicas is not None and \
                self.tracking_max_replicas < self.tracking_replicas:
            raise ConfigError("tracking_max_replicas", self.tracking_max_replicas,
                              f"is below tracking_replicas ({self.tracking_replicas})")
        if self.tls_issuer and not self.tls:
            raise ConfigError("tls_issuer", self.tls_issuer, "needs tls: true")
        duplicates = duplicate_object_names(self.served_models)
        if duplicates:
            raise ConfigError("served_models", duplicates, "declares these models twice")
        return self

    @property
    def platform_ns(self) -> str:
        return self.platform_namespace or f"mlops-{self.environment}"

    @property
    def serving_ns(self) -> str:
        return self.serving_namespace or f"mlops-{self.environment}-serving"

    def image(self, key: str) -> str:
        return parse_image(getattr(self, key)).qualified(self.image_registry)


IMAGE_KEYS = ("tracking_image", "database_image", "object_store_image", "serving_image",
              "tools_image", "pushgateway_image")
SECRET_KEYS = tuple(name for name, field in PlatformConfig.model_fields.items()
                    if "SecretStr" in str(field.annotation))


class ConfigError(ValueError):
    """A stack setting that cannot be used: the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, problem: str) -> None:
        self.key = key
        shown = "<secret>" if key in SECRET_KEYS else json.dumps(value, default=str)
        super().__init__(f"stack config {PROJECT}:{key} = {shown} {problem}")


def parse_image_setting(key: str, value: str) -> ImageRef:
    try:
        return parse_image(value)
    except ValueError as err:
        raise ConfigError(key, value, str(err)) from None


def validate_registry_setting(value: str) -> None:
    try:
        validate_registry(value)
    except ValueError as err:
        raise ConfigError("image_registry", value, str(err)) from None


def parse_config(raw: dict[str, str], secret_keys: set[str] | None = None) -> PlatformConfig:
    """Validate the stack's raw settings (strings, structured values as JSON) into the model.

    ``secret_keys`` are the keys Pulumi holds encrypted; a credential given in plain
    text is refused, because it would sit readable in the stack file and the state.
    """
    unknown = sorted(set(raw) - set(PlatformConfig.model_fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], PlatformConfig.model_fields, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ConfigError(unknown[0], raw[unknown[0]], f"is not a setting of this program; "
                          f"{hint}known keys: {', '.join(PlatformConfig.model_fields)}")
    if secret_keys is not None:
        for key in SECRET_KEYS:
            if key in raw and key not in secret_keys:
                raise ConfigError(key, None, f"is stored in plain text; set it with "
                                  f"`pulumi config set --secret {key} …`")
    values = {key: _decode(PlatformConfig.model_fields[key], value) for key, value in raw.items()}
    try:
        return PlatformConfig.model_validate(values)
    except ValidationError as err:
        raise _first_problem(err, values) from None


def _decode(field: FieldInfo, value: str) -> Any:
    """Pulumi hands structured values over as JSON text; scalars stay text for pydantic."""
    if isinstance(value, str) and value[:1] in ("[", "{") and field.annotation is not str:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _first_problem(err: ValidationError, values: dict[str, Any]) -> ConfigError:
    problem = err.errors()[0]
    location = [str(part) for part in problem["loc"]]
    key = location[0] if location else "config"
    if isinstance(problem.get("ctx", {}).get("error"), ConfigError):
        return problem["ctx"]["error"]
    detail = problem["msg"].removeprefix("Value error, ")
    where = f" (at {'.'.join(location[1:])})" if len(location) > 1 else ""
    return ConfigError(key, values.get(key), f"is invalid{where}: {detail}")


def markdown_table() -> str:
    """The table of every setting in docs/reference/configuration.md: key, default, meaning
    (from the fields above)."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, field in PlatformConfig.model_fields.items():
        default = field.get_default(call_default_factory=True)
        rows.append(f"| `{key}` | {_shown_default(key, default)} | {field.description} |")
    return "\n".join(rows)


def _shown_default(key: str, default: Any) -> str:
    if key == "environment":
        return "required"
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if default == "":
        return "empty"
    if isinstance(default, Resources):
        return (f"requests `{default.requests.cpu}`/`{default.requests.memory}`, "
                f"limits `{default.limits.cpu}`/`{default.limits.memory}`")
    if isinstance(default, BaseModel):
        return ", ".join(f"{name} `{value}`" for name, value in default.model_dump().items())
    if isinstance(default, list):
        return "`[]`" if not default else f"`{json.dumps(default)}`"
    return f"`{default}`"
