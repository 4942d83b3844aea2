"""A project's GitOps deployment: serve what its `deploy/<env>.yaml` declares.

A generated project's `deploy/__main__.py` calls `deploy_manifest_file`; the
platform of that environment is found through a StackReference, and the
objects come from the platform's own `ModelServing` component, never a copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from mlops_platform.deploy.manifest import DeploymentManifest, load_deployment
from mlops_platform.deploy.model_serving import ModelServing, ModelServingArgs

# Stack outputs of the platform that a project's deployment reads.
PLATFORM_OUTPUTS_READ = ("namespace", "tracking_internal_uri", "serving_image")


def deploy_manifest(manifest: DeploymentManifest) -> dict[str, Any]:
    """Create the serving objects of ``manifest``; return the endpoints per model."""
    platform = pulumi.StackReference(manifest.platform_stack)
    serving = ModelServing(
        f"{manifest.environment}-serving",
        ModelServingArgs(
            namespace=platform.require_output("namespace"),
            tracking_uri=platform.require_output("tracking_internal_uri"),
            image=platform.require_output("serving_image"),
            models=manifest.models,
            # The platform owns the serving pods' ServiceAccount; projects only add models.
            manage_service_account=False,
        ),
    )
    return {"environment": manifest.environment, "endpoints": serving.endpoints}


def deploy_manifest_file(path: Path | str) -> dict[str, Any]:
    """`deploy_manifest` of a `deploy/<env>.yaml`; a bad file stops before anything is created."""
    return deploy_manifest(load_deployment(path))
