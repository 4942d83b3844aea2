"""Drift monitoring: per served model, a CronJob that runs `mlops-drift` (Evidently).

The check compares the model's reference data with the current data and writes
its report to the artifact store, under `monitoring/<model>/reports/`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.artifact_store import ACCESS_KEY, SECRET_KEY
from mlops_platform.deploy.manifest import ServedModel
from mlops_platform.kubernetes.kube_types import resources
from mlops_platform.kubernetes.scraping import pushgateway_env
from mlops_platform.kubernetes.security import (
    WRITABLE_TMP,
    hardened_container,
    hardened_pod_spec,
    tokenless_service_account,
)
from mlops_platform.kubernetes.topology import DRIFT_MONITOR

DRIFT_COMMAND = "mlops-drift"
DRIFT_RESOURCES = resources("250m", "512Mi", "1", "2Gi")


@dataclass
class MonitoringArgs:
    namespace: str
    tools_image: str
    artifact_store_endpoint: str
    artifact_bucket: str
    artifact_store_credentials_secret: pulumi.Input[str]
    models: list[ServedModel]
    # Where each check pushes its verdict and timings (a Pushgateway); nowhere when unset.
    pushgateway_url: str | None = None


def report_dir(bucket: str, model_name: str) -> str:
    return f"s3://{bucket}/monitoring/{model_name}/reports"


class Monitoring(pulumi.ComponentResource):
    """One drift CronJob per served model that declares its reference and current data."""

    def __init__(self, name: str, args: MonitoringArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        monitored = [model for model in args.models if model.drift is not None]
        if monitored:
            tokenless_service_account(f"{name}-sa", DRIFT_MONITOR.name, args.namespace, child)
        self.report_dirs = {model.name: report_dir(args.artifact_bucket, model.name)
                            for model in monitored}
        for model in monitored:
            labels = {**DRIFT_MONITOR.labels, "app.kubernetes.io/instance": model.object_name}
            k8s.batch.v1.CronJob(
                f"{name}-{model.object_name}",
                metadata={"name": f"{model.object_name}-drift", "namespace": args.namespace,
                          "labels": labels},
                spec={"schedule": model.drift.schedule, "concurrencyPolicy": "Forbid",
                      "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
                      "jobTemplate": {"spec": {"backoffLimit": 1, "template": {
                          "metadata": {"labels": labels},
                          "spec": _pod_spec(model, args)}}}},
                opts=child)
        self.register_outputs({"report_dirs": self.report_dirs})


def _pod_spec(model: ServedModel, args: MonitoringArgs) -> dict:
    assert model.drift is not None

    def from_secret(key: str) -> dict:
        return {"name": key, "valueFrom": {"secretKeyRef": {
            "name": args.artifact_store_credentials_secret, "key": key}}}

    container = hardened_container(
        "drift", args.tools_image, DRIFT_RESOURCES,
        command=[DRIFT_COMMAND, "--reference", model.drift.reference,
                 "--current", model.drift.current,
                 "--report-dir", report_dir(args.artifact_bucket, model.name),
                 # The `model` label of what the check pushes, whatever its data's path.
                 "--model", model.name],
        env=[from_secret(ACCESS_KEY), from_secret(SECRET_KEY),
             {"name": "AWS_ENDPOINT_URL", "value": args.artifact_store_endpoint},
             {"name": "MLFLOW_S3_ENDPOINT_URL", "value": args.artifact_store_endpoint},
             {"name": "HOME", "value": WRITABLE_TMP}, *pushgateway_env(args.pushgateway_url)])
    return hardened_pod_spec([container], service_account=DRIFT_MONITOR.name,
                             restart_policy="Never")
