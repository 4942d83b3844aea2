"""The platform program: read the stack config, wire the components, return the outputs.

`__main__.py` exports what `build_platform` returns; the mocked engine runs the
same function, so tests and `pulumi up` see one program.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pulumi
from pulumi.runtime.config import (
    CONFIG,
    get_config,
    get_config_env,
    get_config_secret_keys_env,
    is_config_secret,
)

from infra.artifact_store import ArtifactStore, ArtifactStoreArgs, ExternalBucket
from infra.config import PROJECT, PlatformConfig, parse_config
from infra.feature_store import FeatureStore, FeatureStoreArgs
from infra.governance import CD_SERVICE_ACCOUNT, Governance, GovernanceArgs
from infra.metadata_database import BackupTarget, MetadataDatabase, MetadataDatabaseArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.observability import Observability, ObservabilityArgs
from infra.pushgateway import Pushgateway, PushgatewayArgs
from infra.scraping import Scraping, ScrapingArgs
from infra.tracking_server import TrackingServer, TrackingServerArgs
from mlops_platform.deploy.model_serving import (
    ModelServing,
    ModelServingArgs,
    PredictionLogShipping,
)
from mlops_platform.kubernetes.topology import platform_paths

# Exported besides the contract keys; credentials only as secrets.
EXTRA_OUTPUT_KEYS = ("tracking_internal_uri", "serving_image", "tracking_username",
                     "tracking_password", "gate_username", "gate_password",
                     "serving_service_account", "tools_image", "artifact_store_endpoint",
                     "artifact_bucket", "prediction_log_ship_seconds", "pushgateway_url")
# Exported only by the stacks that enable their part.
OPTIONAL_OUTPUT_KEYS = ("feature_store_secret",)


def read_stack_config() -> PlatformConfig:
    """This stack's `mlops-platform:*` settings, validated (raises ConfigError)."""
    prefix = f"{PROJECT}:"
    keys = {key for key in [*CONFIG.get(), *(get_config_env() or {})] if key.startswith(prefix)}
    raw = {key.removeprefix(prefix): get_config(key) for key in sorted(keys)}
    secret_keys = set(get_config_secret_keys_env() or [])
    secret = {key.removeprefix(prefix) for key in keys
              if is_config_secret(key) or key in secret_keys}
    return parse_config(raw, secret_keys=secret)


def build_platform(config: PlatformConfig | None = None) -> dict[str, Any]:
    """Create every component of one environment; return the stack outputs."""
    config = config or read_stack_config()
    governance = Governance("governance", GovernanceArgs(
        platform_namespace=config.platform_ns, serving_namespace=config.serving_ns,
        paths=platform_paths(ingress_namespace=config.ingress_namespace,
                             external_database_port=_external_database_port(config),
                             external_store_port=_external_store_port(config),
                             monitoring_namespace=config.monitoring_namespace,
                             feature_store=config.feature_store != "none"),
        quota=config.namespace_quota, environment=config.environment))
    after_governance = pulumi.ResourceOptions(depends_on=[governance])
    store = ArtifactStore("artifact-store", _artifact_store_args(config), after_governance)
    pushgateway = Pushgateway("pushgateway", PushgatewayArgs(
        namespace=config.platform_ns, image=config.image("pushgateway_image"),
        scrape_mode=config.scrape_mode), after_governance)
    database = MetadataDatabase("metadata-database",
                                _database_args(config, store, pushgateway.url), after_governance)
    tracking = TrackingServer("tracking-server", TrackingServerArgs(
        namespace=config.platform_ns, image=config.image("tracking_image"),
        resources=config.tracking_resources, database_url=database.url,
        database_url_secret=database.url_secret_name,
        artifact_store_endpoint=store.endpoint_url, artifact_bucket=store.bucket,
        artifact_store_credentials_secret=store.credentials_secret_name,
        tools_image=config.image("tools_image"),
        replicas=config.tracking_replicas, max_replicas=config.tracking_max_replicas,
        admin_username=config.tracking_admin_username, host=config.tracking_host,
        ingress_class=config.ingress_class, max_body_size=config.ingress_max_body_size,
        tls=config.tls, tls_issuer=config.tls_issuer,
        client_namespaces=[config.serving_ns], scrape_mode=config.scrape_mode),
        after_governance)
    serving = ModelServing("model-serving", ModelServingArgs(
        namespace=config.serving_ns, tracking_uri=tracking.internal_uri,
        image=config.image("serving_image"), models=config.served_models,
        prediction_log=PredictionLogShipping(
            tools_image=config.image("tools_image"), endpoint_url=store.endpoint_url,
            bucket=store.bucket, access_key_id=store.access_key_id,
            secret_access_key=store.secret_access_key,
            interval_seconds=config.prediction_log_ship_seconds),
        scrape_mode=config.scrape_mode),
        pulumi.ResourceOptions(depends_on=[governance, tracking]))
    Monitoring("monitoring", MonitoringArgs(
        namespace=config.platform_ns, tools_image=config.image("tools_image"),
        artifact_store_endpoint=store.endpoint_url, artifact_bucket=store.bucket,
        artifact_store_credentials_secret=store.credentials_secret_name,
        models=config.served_models, pushgateway_url=pushgateway.url), after_governance)
    Scraping("scraping", ScrapingArgs(
        platform_namespace=config.platform_ns, serving_namespace=config.serving_ns,
        scrape_mode=config.scrape_mode, labels=config.monitor_labels), after_governance)
    Observability("observability", ObservabilityArgs(
        platform_namespace=config.platform_ns, monitoring_namespace=config.monitoring_namespace,
        scrape_mode=config.scrape_mode, thresholds=config.alert_thresholds,
        runbook_page=config.runbook_page,
        models=[model.name for model in config.served_models], labels=config.monitor_labels),
        after_governance)
    optional: dict[str, Any] = {}
    if config.feature_store == "postgres":
        feature_store = FeatureStore("feature-store", FeatureStoreArgs(
            platform_namespace=config.platform_ns, serving_namespace=config.serving_ns,
            image=config.image("database_image"), resources=config.feature_store_resources,
            storage=config.feature_store_storage, storage_class=config.storage_class),
            after_governance)
        # Which Secret of the serving namespace a project's feature server and
        # materialisation jobs take their connection from (`envFrom`).
        optional["feature_store_secret"] = feature_store.secret_name
    first_endpoint = next(iter(serving.endpoints.values()), "")
    return {
        "tracking_uri": tracking.uri,
        "registry_uri": tracking.uri,
        "artifact_store_uri": store.uri,
        "serving_endpoint": first_endpoint,
        "environment": config.environment,
        "namespace": config.serving_ns,
        # What a project's deploy program hands to ModelServing (through a StackReference).
        "tracking_internal_uri": tracking.internal_uri,
        "serving_image": config.image("serving_image"),
        "tracking_username": pulumi.Output.secret(tracking.admin_username),
        "tracking_password": pulumi.Output.secret(tracking.admin_password),
        # The promotion gate's user, for CI's MLFLOW_GATE_* (protected environments only).
        "gate_username": tracking.gate_username,
        "gate_password": pulumi.Output.secret(tracking.gate_password),
        "serving_service_account": CD_SERVICE_ACCOUNT,
        # What a project's deploy program hands to the log shipper and drift check of its
        # models (the key pair stays in the platform's Secret of the serving namespace).
        "tools_image": config.image("tools_image"),
        "artifact_store_endpoint": store.endpoint_url,
        "artifact_bucket": store.bucket,
        "prediction_log_ship_seconds": config.prediction_log_ship_seconds,
        # Where the drift checks of a project's models push their verdicts.
        "pushgateway_url": pushgateway.url,
        **optional,
    }


def _artifact_store_args(config: PlatformConfig) -> ArtifactStoreArgs:
    external = None
    if config.artifact_store_mode == "external":
        assert config.s3_access_key_id and config.s3_secret_access_key
        external = ExternalBucket(
            endpoint_url=config.s3_endpoint_url, region=config.s3_region,
            access_key_id=pulumi.Output.secret(config.s3_access_key_id.get_secret_value()),
            secret_access_key=pulumi.Output.secret(
                config.s3_secret_access_key.get_secret_value()))
    return ArtifactStoreArgs(
        namespace=config.platform_ns, bucket=config.artifact_bucket,
        image=config.image("object_store_image"),
        tools_image=config.image("tools_image"),
        storage=config.artifact_storage, storage_class=config.storage_class,
        resources=config.artifact_store_resources, external=external)


def _database_args(config: PlatformConfig, store: ArtifactStore,
                   pushgateway_url: str) -> MetadataDatabaseArgs:
    if config.database_mode == "external":
        assert config.database_url is not None
        return MetadataDatabaseArgs(
            namespace=config.platform_ns,
            external_url=pulumi.Output.secret(config.database_url.get_secret_value()))
    return MetadataDatabaseArgs(
        namespace=config.platform_ns, image=config.image("database_image"),
        storage=config.database_storage, storage_class=config.storage_class,
        resources=config.database_resources,
        backup=BackupTarget(schedule=config.database_backup_schedule,
                            tools_image=config.image("tools_image"),
                            endpoint_url=store.endpoint_url, bucket=store.bucket,
                            credentials_secret=store.credentials_secret_name,
                            pushgateway_url=pushgateway_url))


def _external_database_port(config: PlatformConfig) -> int | None:
    if config.database_mode != "external" or config.database_url is None:
        return None
    return urlparse(config.database_url.get_secret_value()).port or 5432


def _external_store_port(config: PlatformConfig) -> int | None:
    if config.artifact_store_mode != "external":
        return None
    endpoint = urlparse(config.s3_endpoint_url or "https://s3.amazonaws.com")
    return endpoint.port or (443 if endpoint.scheme == "https" else 80)

