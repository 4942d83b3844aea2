"""Which objects are the platform's tracking server, model servers and database.

Recognised by what they run, not by names or labels a stack may change: the
tracking server runs `mlflow server`, a model server gets its model through
MLServer's model-URI variable (or is a KServe InferenceService), the database
runs a PostgreSQL image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .conventions import MODEL_URI_ENV
from .kubernetes import (
    INFERENCE_SERVICE,
    LONG_RUNNING,
    app_containers,
    command_line,
    dig,
    env_value,
    pod_spec,
)


def is_tracking_server(resource_type: str, props: Mapping[str, Any]) -> bool:
    spec = pod_spec(resource_type, props)
    if resource_type not in LONG_RUNNING or spec is None:
        return False
    return any(runs_mlflow_server(command_line(container)) for container in app_containers(spec))


def runs_mlflow_server(words: list[str]) -> bool:
    names = [word.rsplit("/", 1)[-1] for word in words]
    return "mlflow" in names and "server" in names[names.index("mlflow"):]


def served_model_uris(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The model URIs a serving object loads (empty when it serves no model)."""
    if resource_type == INFERENCE_SERVICE:
        uri = dig(props, "spec", "predictor", "model", "storageUri")
        return [uri] if isinstance(uri, str) else []
    spec = pod_spec(resource_type, props)
    if resource_type not in LONG_RUNNING or spec is None:
        return []
    uris = (env_value(container, MODEL_URI_ENV) for container in app_containers(spec))
    return [uri for uri in uris if uri is not None]


def is_model_server(resource_type: str, props: Mapping[str, Any]) -> bool:
    return bool(served_model_uris(resource_type, props))


def runs_postgres(resource_type: str, props: Mapping[str, Any]) -> bool:
    spec = pod_spec(resource_type, props)
    if resource_type not in LONG_RUNNING or spec is None:
        return False
    return any(image_repository(str(container.get("image", ""))).rsplit("/", 1)[-1]
               in ("postgres", "postgresql") for container in app_containers(spec))


def image_repository(image: str) -> str:
    """The image reference without its digest and tag."""
    name = image.split("@", 1)[0]
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > last_slash else name
