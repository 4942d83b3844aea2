"""The platform outputs a new project starts with: the embedded local platform's or a file's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mlops_platform.contract import (
    LOCAL_ENVIRONMENT,
    LOCAL_OUTPUTS_FILE,
    LOCAL_PLATFORM_PORT,
    LOCAL_STATE_DIR,
    PlatformOutputs,
    read_outputs,
)
from mlops_platform.scaffold.options import LOCAL_PLATFORM, resolve_path

OUTPUTS_FILE = "platform_outputs.json"


def platform_outputs_for(context: Mapping[str, Any]) -> PlatformOutputs:
    value = str(context["platform_outputs"])
    if value != LOCAL_PLATFORM:
        return read_outputs(resolve_path(value, context))
    return local_platform_outputs(Path(str(context["_repo_dir"])).parent)


def local_platform_outputs(platform_repo: Path) -> PlatformOutputs:
    """Where the checkout's local platform serves: its last `up`'s outputs, else the default.

    `down` keeps that file and the next `up` serves on its port again, so a project baked
    while the platform is down or up finds it at the same address.
    """
    state_dir = platform_repo / LOCAL_STATE_DIR
    remembered = state_dir / LOCAL_OUTPUTS_FILE
    if remembered.is_file():
        return read_outputs(remembered)
    url = f"http://127.0.0.1:{LOCAL_PLATFORM_PORT}"
    return PlatformOutputs(
        tracking_uri=url, registry_uri=url,
        artifact_store_uri=(state_dir / "artifacts").absolute().as_uri(),
        serving_endpoint="", environment=LOCAL_ENVIRONMENT, namespace=LOCAL_ENVIRONMENT,
    )


def dvc_remote_url(outputs: PlatformOutputs) -> str:
    """DVC keeps data next to the platform's artifacts, in a folder of its own."""
    store = outputs.artifact_store_uri.rstrip("/")
    if store.startswith("file://"):
        return str(Path(unquote(urlparse(store).path)) / "dvc")
    return f"{store}/dvc"
