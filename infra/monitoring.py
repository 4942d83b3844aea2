"""Model monitoring: per served model, a CronJob that runs `mlops-drift` (Evidently) and
one that runs `mlops-performance` (its labelled answers), for the models that declare them.

The CronJobs themselves are `mlops_platform.deploy.drift_job`'s and `.performance_job`'s,
which a project's deploy program uses too; here they run in the platform namespace with the
store's own Secret.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from mlops_platform.deploy.drift_job import DriftJobPlace, drift_cron_job, monitored, report_dir
from mlops_platform.deploy.manifest import ServedModel
from mlops_platform.deploy.performance_job import judged, performance_cron_job
from mlops_platform.kubernetes.security import tokenless_service_account
from mlops_platform.kubernetes.topology import DRIFT_MONITOR


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


class Monitoring(pulumi.ComponentResource):
    """One drift CronJob per served model that declares its reference and current data, one
    performance CronJob per served model that declares its check."""

    def __init__(self, name: str, args: MonitoringArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        models = monitored(args.models)
        if models or judged(args.models):
            tokenless_service_account(f"{name}-sa", DRIFT_MONITOR.name, args.namespace, child)
        place = DriftJobPlace(
            namespace=args.namespace, part=DRIFT_MONITOR, service_account=DRIFT_MONITOR.name,
            tools_image=args.tools_image, store_endpoint=args.artifact_store_endpoint,
            bucket=args.artifact_bucket,
            credentials_secret=args.artifact_store_credentials_secret,
            pushgateway_url=args.pushgateway_url)
        self.report_dirs = {model.name: report_dir(args.artifact_bucket, model.name)
                            for model in models}
        for model in models:
            drift_cron_job(f"{name}-{model.object_name}", model, place, child)
        for model in judged(args.models):
            performance_cron_job(f"{name}-performance-{model.object_name}", model, place, child)
        self.register_outputs({"report_dirs": self.report_dirs})
