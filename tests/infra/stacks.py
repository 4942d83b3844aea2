"""What the tests add to the committed stacks to render them whole.

Prod refuses images without digests and its stack file leaves them to be filled in
(see Pulumi.prod.yaml), so the tests pin each missing one by a stand-in digest. The
stacks serve no model until a project declares one: SERVED_MODEL is such a declaration.
"""

from __future__ import annotations

from typing import Any

from infra.config import IMAGE_KEYS, PlatformConfig
from mlops_platform.local_cluster.mocked_engine import stack_settings

STAND_IN_DIGEST = "sha256:" + "5eed" * 16

SERVED_MODEL: dict[str, Any] = {
    "name": "demo-classifier", "alias": "champion", "approved_by": "ml-platform-team",
    "replicas": 2, "max_replicas": 4,
    "drift": {"reference": "s3://mlflow/monitoring/demo-classifier/reference.parquet",
              "current": "s3://mlflow/monitoring/demo-classifier/current.parquet",
              "schedule": "0 * * * *"},
    "performance": {"metric": "roc_auc", "baseline": 0.97},
    "batch": {"input": "s3://mlflow/batch/demo-classifier/rows.parquet",
              "output": "s3://mlflow/batch/demo-classifier/scored/"}}


def pinned_images(stack: str) -> dict[str, str]:
    """A stand-in digest for every image the stack leaves unpinned while it requires digests."""
    settings = stack_settings(stack)
    if not settings.get("require_image_digests"):
        return {}
    return {key: f"{PlatformConfig.model_fields[key].default}@{STAND_IN_DIGEST}"
            for key in IMAGE_KEYS if key not in settings}


def with_a_model(stack: str) -> dict[str, Any]:
    """The stack's renderable overrides plus one served, monitored model."""
    return {**pinned_images(stack), "served_models": [SERVED_MODEL]}
