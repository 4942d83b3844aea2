"""A project's GitOps deployment: serve what its `deploy/<env>.yaml` declares.

A generated project's `deploy/__main__.py` calls `deploy_manifest_file`; the
platform of that environment is found through a StackReference, and the
objects come from the platform's own `ModelServing` component and drift CronJob
(`drift_job`), never a copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from mlops_platform.deploy.drift_job import DriftJobPlace, drift_cron_job, monitored
from mlops_platform.deploy.manifest import DeploymentManifest, load_deployment
from mlops_platform.deploy.model_serving import (
    SERVING_SERVICE_ACCOUNT,
    SHIPPING_CREDENTIALS_SECRET,
    ModelServing,
    ModelServingArgs,
    PredictionLogShipping,
)
from mlops_platform.deploy.performance_job import judged, performance_cron_job
from mlops_platform.kubernetes.topology import SERVING_DRIFT_MONITOR

# Stack outputs of the platform that a project's deployment reads, all of them: nothing
# else is read (a test checks the platform program exports each).
PLATFORM_OUTPUTS_READ = ("namespace", "tracking_internal_uri", "serving_image", "tools_image",
                         "artifact_store_endpoint", "artifact_bucket",
                         "prediction_log_ship_seconds", "pushgateway_url")


def deploy_manifest(manifest: DeploymentManifest) -> dict[str, Any]:
    """Create the serving objects of ``manifest``; return the endpoints per model."""
    reference = pulumi.StackReference(manifest.platform_stack)
    platform = {key: reference.require_output(key) for key in PLATFORM_OUTPUTS_READ}
    _check_drift(manifest, platform)
    serving = ModelServing(
        f"{manifest.environment}-serving",
        ModelServingArgs(
            namespace=platform["namespace"],
            tracking_uri=platform["tracking_internal_uri"],
            image=platform["serving_image"],
            models=manifest.models,
            # The platform owns the serving pods' ServiceAccount; projects only add models.
            manage_service_account=False,
            # The same log shipper as the platform's models, with the platform's Secret.
            prediction_log=PredictionLogShipping(
                tools_image=platform["tools_image"],
                endpoint_url=platform["artifact_store_endpoint"],
                bucket=platform["artifact_bucket"],
                interval_seconds=platform["prediction_log_ship_seconds"]),
        ),
    )
    return {"environment": manifest.environment, "endpoints": serving.endpoints}


def _check_drift(manifest: DeploymentManifest, platform: dict[str, pulumi.Output[Any]]) -> None:
    """The platform's drift CronJob for each model declaring its data, and performance
    CronJob for each declaring its check, in the serving namespace: the store's key pair is
    the shippers' Secret there, and the identity the serving pods' (tokenless, no rights)."""
    place = DriftJobPlace(
        namespace=platform["namespace"], part=SERVING_DRIFT_MONITOR,
        service_account=SERVING_SERVICE_ACCOUNT, tools_image=platform["tools_image"],
        store_endpoint=platform["artifact_store_endpoint"], bucket=platform["artifact_bucket"],
        credentials_secret=SHIPPING_CREDENTIALS_SECRET,
        pushgateway_url=platform["pushgateway_url"])
    for model in monitored(manifest.models):
        drift_cron_job(f"{manifest.environment}-drift-{model.object_name}", model, place)
    for model in judged(manifest.models):
        performance_cron_job(f"{manifest.environment}-performance-{model.object_name}", model,
                             place)


def deploy_manifest_file(path: Path | str) -> dict[str, Any]:
    """`deploy_manifest` of a `deploy/<env>.yaml`; a bad file stops before anything is created."""
    return deploy_manifest(load_deployment(path))
