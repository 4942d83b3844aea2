"""Where the platform is: platform_outputs.json (or the file PLATFORM_OUTPUTS names)."""

from __future__ import annotations

import contextlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from mlops_platform.contract import PlatformOutputs, read_outputs

from {{ cookiecutter.package_name }}.errors import TrackingServerUnreachableError

OUTPUTS_FILE = Path("platform_outputs.json")
# Fail in seconds, not after MLflow's default minutes of retries.
CLIENT_ENVIRONMENT = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
                      "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def outputs_file() -> Path:
    return Path(os.environ.get("PLATFORM_OUTPUTS", OUTPUTS_FILE))


def connect() -> PlatformOutputs:
    """Point MLflow at the platform and make sure its tracking server answers."""
    import mlflow  # here, not at the top: the steps without MLflow start seconds faster

    source = outputs_file()
    outputs = read_outputs(source)
    for name, value in CLIENT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    os.environ["MLFLOW_TRACKING_URI"] = outputs.tracking_uri
    mlflow.set_tracking_uri(outputs.tracking_uri)
    mlflow.set_registry_uri(outputs.registry_uri)
    ensure_reachable(outputs.tracking_uri, source)
    return outputs


def ensure_reachable(tracking_uri: str, source: Path) -> None:
    if not tracking_uri.startswith(("http://", "https://")):
        return
    reason = health_problem(tracking_uri)
    if reason:
        raise TrackingServerUnreachableError(unreachable_message(tracking_uri, source, reason))


def health_problem(tracking_uri: str, timeout: float = 5.0) -> str | None:
    """None when the server's /health answers 200, else why not."""
    url = f"{tracking_uri.rstrip('/')}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return str(getattr(err, "reason", err))


def unreachable_message(tracking_uri: str, source: Path, reason: str) -> str:
    return (f"the tracking server is unreachable at {tracking_uri} ({reason}); the address "
            f"comes from {source}. Start the platform (`make platform-up` in the platform "
            f"repository) or fix {source}, then run the pipeline again.")


@contextlib.contextmanager
def tracking_server_guard(outputs: PlatformOutputs) -> Iterator[None]:
    """Turn a failure caused by the server going away mid-step into the clear message."""
    try:
        yield
    except Exception as err:
        remote = outputs.tracking_uri.startswith(("http://", "https://"))
        reason = health_problem(outputs.tracking_uri) if remote else None
        if reason:
            message = unreachable_message(outputs.tracking_uri, outputs_file(), reason)
            raise TrackingServerUnreachableError(message) from err
        raise
