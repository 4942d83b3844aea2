"""The scheduled performance check of one served model: a CronJob that runs
`mlops-performance` on the predictions and labels the log shipper put in the store.

It judges the model's primary metric per window against the value it was promoted with,
writes its reports under `monitoring/<model>/performance/` and pushes its verdict to the
Pushgateway, where Prometheus and the `MlopsModelDegraded` alert read it. The platform's
`Monitoring` makes one per model it serves that declares `performance`, a project's deploy
program one per model of its manifest; both through `performance_cron_job`, beside the
drift check (same place, identity and network: `drift_job.DriftJobPlace`).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_platform.deploy.drift_job import DriftJobPlace, check_cron_job, check_pod_spec
from mlops_platform.deploy.manifest import PerformanceCheck, ServedModel
from mlops_platform.kubernetes.kube_types import resources
from mlops_platform.prediction_log import MONITORING_PREFIX, labels_prefix, served_prefix

PERFORMANCE_COMMAND = "mlops-performance"
PERFORMANCE_RESOURCES = resources("250m", "512Mi", "1", "2Gi")


def judged(models: list[ServedModel]) -> list[ServedModel]:
    """The models that declare a performance check."""
    return [model for model in models if model.performance is not None]


def performance_cron_job(resource_name: str, model: ServedModel, place: DriftJobPlace,
                         opts: pulumi.ResourceOptions | None = None) -> k8s.batch.v1.CronJob:
    """The CronJob `<model>-performance` that judges ``model`` on its declared schedule."""
    check = model.performance
    assert check is not None, f"{model.name} declares no performance check"
    pod_spec = check_pod_spec("performance", place, PERFORMANCE_RESOURCES,
                              _command(model.name, check, place.bucket))
    return check_cron_job(resource_name, f"{model.object_name}-performance", model,
                          check.schedule, place, pod_spec, opts)


def _command(model_name: str, check: PerformanceCheck,
             bucket: pulumi.Input[str]) -> list[Any]:
    def in_store(prefix: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("s3://", bucket, f"/{prefix}/")

    return [PERFORMANCE_COMMAND,
            "--predictions", in_store(served_prefix(model_name)),
            "--labels", in_store(labels_prefix(model_name)),
            "--metric", check.metric, "--baseline", str(check.baseline),
            "--window", check.window, "--min-rows", str(check.min_rows),
            *(["--max-drop", str(check.max_drop)] if check.max_drop is not None else []),
            "--report-dir", in_store(f"{MONITORING_PREFIX}/{model_name}/performance"),
            "--model", model_name]
