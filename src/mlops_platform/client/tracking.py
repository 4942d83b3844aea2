"""The project's tracking server and registry: where it is, whether it answers, a client.

The address comes from MLFLOW_TRACKING_URI when set, else from the project's platform
outputs file (``mlops_platform.contract.PlatformOutputs``: the stack outputs of
``infra/program.py``, ``pulumi stack output --json``).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_platform.client.project import OUTPUTS_FILE
from mlops_platform.contract import LOCAL_ENVIRONMENT, PlatformOutputsError, read_outputs

if TYPE_CHECKING:
    from mlflow import MlflowClient

# The CLI answers in seconds, not after MLflow's minutes of retries (set by
# mlops_platform.governance.cli, not here: a library must not change the environment of the
# process that imports it).
CLIENT_ENVIRONMENT = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    # A server whose artifacts live in S3 offers presigned URLs of the object store, which
    # only pods inside the cluster can reach: clients outside download through the proxy.
    "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
    "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


class TrackingServerError(RuntimeError):
    """The tracking server cannot be used; the message says where we looked and why."""


@dataclass(frozen=True)
class TrackingTarget:
    tracking_uri: str
    registry_uri: str
    environment: str
    source: str

    def client(self) -> MlflowClient:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)


def target_for(project_root: Path) -> TrackingTarget:
    """Where the project's runs live; raises TrackingServerError naming the file to fix.

    The project's outputs file wins over MLFLOW_TRACKING_URI: the file is what the
    project declares (and MLflow's own client exports the variable as a side effect).
    """
    # PLATFORM_OUTPUTS is how the project's own steps are pointed elsewhere (platform.py).
    outputs_path = project_root / os.environ.get("PLATFORM_OUTPUTS", OUTPUTS_FILE)
    override = os.environ.get("MLFLOW_TRACKING_URI")
    if not outputs_path.exists() and override:
        return TrackingTarget(override, os.environ.get("MLFLOW_REGISTRY_URI", override),
                              os.environ.get("MLOPS_ENVIRONMENT", "local"), "MLFLOW_TRACKING_URI")
    try:
        outputs = read_outputs(outputs_path)
    except PlatformOutputsError as err:
        raise TrackingServerError(str(err)) from err
    return TrackingTarget(outputs.tracking_uri, outputs.registry_uri, outputs.environment,
                          str(outputs_path))


def unreachable_reason(tracking_uri: str, timeout: float = 3.0) -> str | None:
    """None when the server's /health answers 200 (or the store is local), else why not."""
    if not tracking_uri.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(f"{tracking_uri.rstrip('/')}/health",  # noqa: S310
                                    timeout=timeout) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return str(getattr(err, "reason", err))


def unreachable_problem(tracking_uri: str, environment: str, source: Path | str) -> str | None:
    """None when the tracking server answers, else one line saying so and how to fix it.

    A project's own steps call this too (through its ``platform.py``), so that every command
    of a project says the same thing about the same server.
    """
    reason = unreachable_reason(tracking_uri)
    if reason is None:
        return None
    if environment == LOCAL_ENVIRONMENT:
        return (f"no local platform answers at {tracking_uri}: start it with "
                "`make platform-up` in the platform repository")
    return (f"the tracking server at {tracking_uri} (from {source}) is unreachable ({reason}): "
            f"start the platform or fix {source}")


def use_client_environment() -> None:
    """MLflow client settings every command of ours runs with (unless the user set them)."""
    for name, value in CLIENT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def reachable_target(project_root: Path) -> TrackingTarget:
    use_client_environment()
    target = target_for(project_root)
    problem = unreachable_problem(target.tracking_uri, target.environment, target.source)
    if problem:
        raise TrackingServerError(problem)
    return target
