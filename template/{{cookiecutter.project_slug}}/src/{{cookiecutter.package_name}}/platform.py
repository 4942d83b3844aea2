"""Where the platform is: platform_outputs.json (or the file PLATFORM_OUTPUTS names)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from mlops_platform.api import (
    PlatformOutputs,
    read_outputs,
    unreachable_problem,
    use_client_environment,
)

from {{ cookiecutter.package_name }}.errors import TrackingServerUnreachableError

OUTPUTS_FILE = Path("platform_outputs.json")


def outputs_file() -> Path:
    return Path(os.environ.get("PLATFORM_OUTPUTS", OUTPUTS_FILE))


def connect() -> PlatformOutputs:
    """Point MLflow at the platform and make sure its tracking server answers."""
    import mlflow  # here, not at the top: the steps without MLflow start seconds faster

    source = outputs_file()
    outputs = read_outputs(source)
    use_client_environment()  # fail in seconds, not after minutes; proxied artifact downloads
    os.environ["MLFLOW_TRACKING_URI"] = outputs.tracking_uri
    mlflow.set_tracking_uri(outputs.tracking_uri)
    mlflow.set_registry_uri(outputs.registry_uri)
    ensure_reachable(outputs, source)
    return outputs


def ensure_reachable(outputs: PlatformOutputs, source: Path) -> None:
    """The platform package's check and message, so every command says the same."""
    problem = unreachable_problem(outputs.tracking_uri, outputs.environment, source)
    if problem:
        raise TrackingServerUnreachableError(problem)


@contextlib.contextmanager
def tracking_server_guard(outputs: PlatformOutputs) -> Iterator[None]:
    """Turn a failure caused by the server going away mid-step into the clear message."""
    try:
        yield
    except Exception as err:
        problem = unreachable_problem(outputs.tracking_uri, outputs.environment, outputs_file())
        if problem:
            raise TrackingServerUnreachableError(problem) from err
        raise
