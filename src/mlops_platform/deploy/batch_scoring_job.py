"""The scheduled batch scoring of one served model: a CronJob that runs `mlops-score` on a
table in the artifact store with the version the model serves.

Each run writes ``scored-<UTC time>.csv`` under the model's ``batch.output`` prefix and logs
every row where the log shipper puts the served ones (``monitoring/<model>/served/``), serving
path ``batch``, so labels sent back for its ids join as they do for served predictions.
`ModelServing` makes one per model that declares ``batch``, beside its Deployment: the same
namespace, identity and registry credentials as the serving pods, and the shippers' key pair
for the store.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_platform.deploy.drift_job import DriftJobPlace, check_cron_job, check_pod_spec
from mlops_platform.deploy.manifest import ServedModel
from mlops_platform.kubernetes.kube_types import resources
from mlops_platform.prediction_log import served_prefix

SCORE_COMMAND = "mlops-score"
BATCH_SCORING_RESOURCES = resources("250m", "512Mi", "1", "2Gi")


def batch_scoring_cron_job(resource_name: str, model: ServedModel, place: DriftJobPlace,
                           registry_env: list[dict[str, Any]],
                           opts: pulumi.ResourceOptions | None = None) -> k8s.batch.v1.CronJob:
    """The CronJob `<model>-batch-scoring` that scores ``model.batch.input`` on its schedule,
    reaching the registry with ``registry_env`` (the serving pods' variables)."""
    batch = model.batch
    assert batch is not None, f"{model.name} declares no batch scoring"
    log = pulumi.Output.concat("s3://", place.bucket, f"/{served_prefix(model.name)}/")
    pod_spec = check_pod_spec(
        "batch-scoring", place, BATCH_SCORING_RESOURCES,
        [SCORE_COMMAND, "--model-uri", model.model_uri, "--input", batch.input,
         "--output", batch.output, "--log", log],
        extra_env=registry_env)
    return check_cron_job(resource_name, f"{model.object_name}-batch-scoring", model,
                          batch.schedule, place, pod_spec, opts)

