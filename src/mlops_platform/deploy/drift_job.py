"""The scheduled drift check of one served model: a CronJob that runs `mlops-drift` (Evidently).

The check compares the model's reference data with the current data and writes its
report to the artifact store, under `monitoring/<model>/reports/`. The platform's
`Monitoring` makes one per model it serves, a project's deploy program one per model
of its manifest; both through `drift_cron_job`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_platform.deploy.manifest import ServedModel
from mlops_platform.kubernetes.kube_types import resources
from mlops_platform.kubernetes.scraping import pushgateway_env
from mlops_platform.kubernetes.security import WRITABLE_TMP, hardened_container, hardened_pod_spec
from mlops_platform.kubernetes.topology import Part

DRIFT_COMMAND = "mlops-drift"
DRIFT_RESOURCES = resources("250m", "512Mi", "1", "2Gi")
# The keys of the store's key pair in a credentials Secret (the S3 clients' variables).
STORE_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@dataclass
class DriftJobPlace:
    """Where a drift check runs and what it reads with: plain values or Outputs."""

    namespace: pulumi.Input[str]
    # Its labels select the NetworkPolicies that let it reach the store and Pushgateway.
    part: Part
    service_account: str
    tools_image: pulumi.Input[str]
    store_endpoint: pulumi.Input[str]
    bucket: pulumi.Input[str]
    # A Secret of the namespace holding `STORE_KEYS`.
    credentials_secret: pulumi.Input[str]
    # Where each check pushes its verdict and timings (a Pushgateway); nowhere when unset.
    pushgateway_url: pulumi.Input[str] | None = None


def report_dir(bucket: pulumi.Input[str], model_name: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("s3://", bucket, f"/monitoring/{model_name}/reports")


def monitored(models: list[ServedModel]) -> list[ServedModel]:
    """The models that declare their reference and current data."""
    return [model for model in models if model.drift is not None]


def drift_cron_job(resource_name: str, model: ServedModel, place: DriftJobPlace,
                   opts: pulumi.ResourceOptions | None = None) -> k8s.batch.v1.CronJob:
    """The CronJob `<model>-drift` that checks ``model`` on its declared schedule."""
    assert model.drift is not None, f"{model.name} declares no drift data"
    return check_cron_job(resource_name, f"{model.object_name}-drift", model,
                          model.drift.schedule, place, _pod_spec(model, place), opts)


def check_cron_job(resource_name: str, name: str, model: ServedModel, schedule: str,
                   place: DriftJobPlace, pod_spec: dict[str, Any],
                   opts: pulumi.ResourceOptions | None = None) -> k8s.batch.v1.CronJob:
    """A scheduled check of ``model``: one run at a time, a failed run retried once, its pods
    labelled with the place's part (the NetworkPolicies select them) and the model."""
    labels = {**place.part.labels, "app.kubernetes.io/instance": model.object_name}
    return k8s.batch.v1.CronJob(
        resource_name,
        metadata={"name": name, "namespace": place.namespace, "labels": labels},
        spec={"schedule": schedule, "concurrencyPolicy": "Forbid",
              "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
              "jobTemplate": {"spec": {"backoffLimit": 1, "template": {
                  "metadata": {"labels": labels}, "spec": pod_spec}}}},
        opts=opts)


def _pod_spec(model: ServedModel, place: DriftJobPlace) -> dict[str, Any]:
    assert model.drift is not None
    return check_pod_spec("drift", place, DRIFT_RESOURCES, [
        DRIFT_COMMAND, "--reference", model.drift.reference, "--current", model.drift.current,
        "--report-dir", report_dir(place.bucket, model.name),
        # The `model` label of what the check pushes, whatever its data's path.
        "--model", model.name])


def check_pod_spec(name: str, place: DriftJobPlace, container_resources: dict[str, Any],
                   command: list[pulumi.Input[str]],
                   extra_env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The pod of a scheduled check: ``command`` in the tools image, with the store's key pair
    and endpoint and the Pushgateway (and ``extra_env``), under the place's identity, never
    restarted."""
    def from_secret(key: str) -> dict[str, Any]:
        return {"name": key, "valueFrom": {"secretKeyRef": {
            "name": place.credentials_secret, "key": key}}}

    container = hardened_container(
        name, place.tools_image, container_resources, command=command,
        env=[*(from_secret(key) for key in STORE_KEYS),
             {"name": "AWS_ENDPOINT_URL", "value": place.store_endpoint},
             {"name": "MLFLOW_S3_ENDPOINT_URL", "value": place.store_endpoint},
             {"name": "HOME", "value": WRITABLE_TMP}, *pushgateway_env(place.pushgateway_url),
             *(extra_env or [])])
    return hardened_pod_spec([container], service_account=place.service_account,
                             restart_policy="Never")
