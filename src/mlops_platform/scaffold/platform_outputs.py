"""The platform outputs a new project starts with: the embedded local platform's or a file's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mlops_platform.contract import PlatformOutputs, read_outputs
from mlops_platform.scaffold.options import LOCAL_PLATFORM, resolve_path

OUTPUTS_FILE = "platform_outputs.json"
# `make platform-up ARGS="--port 5000"` in the platform repository serves here.
LOCAL_PLATFORM_PORT = 5000


def platform_outputs_for(context: Mapping[str, Any]) -> PlatformOutputs:
    value = str(context["platform_outputs"])
    if value != LOCAL_PLATFORM:
        return read_outputs(resolve_path(value, context))
    return local_platform_outputs(Path(str(context["_repo_dir"])).parent)


def local_platform_outputs(platform_repo: Path) -> PlatformOutputs:
    """The running local platform's outputs when there is one, else where it will serve."""
    state_dir = platform_repo / ".platform"
    running = state_dir / "outputs.json"
    if running.is_file():
        return read_outputs(running)
    url = f"http://127.0.0.1:{LOCAL_PLATFORM_PORT}"
    return PlatformOutputs(
        tracking_uri=url, registry_uri=url,
        artifact_store_uri=(state_dir / "artifacts").absolute().as_uri(),
        serving_endpoint="", environment="local", namespace="local",
    )


def dvc_remote_url(outputs: PlatformOutputs) -> str:
    """DVC keeps data next to the platform's artifacts, in a folder of its own."""
    store = outputs.artifact_store_uri.rstrip("/")
    if store.startswith("file://"):
        return str(Path(unquote(urlparse(store).path)) / "dvc")
    return f"{store}/dvc"
