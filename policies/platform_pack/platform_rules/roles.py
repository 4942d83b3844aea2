"""Which objects are the platform's tracking server, model servers and database.

Recognised by what they run, not by names or labels a stack may change: the
tracking server runs `mlflow server` (however started) or a web server on MLflow's
app, a model server gets its model through MLServer's model-URI variable or
`mlflow models serve -m` (or is a KServe InferenceService), the database runs a
PostgreSQL image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .commands import invocations, option, subcommand
from .conventions import MODEL_URI_ENV
from .kubernetes import (
    INFERENCE_SERVICE,
    LONG_RUNNING,
    app_containers,
    dig,
    env_entries,
    is_a,
    mapping,
    pod_spec,
)

# An MLflow server started by pointing a web server at its app (`gunicorn mlflow.server:app`).
MLFLOW_APP = re.compile(r"^(mlflow\.server(?:\.[\w.]+)?):\w+")
# The module of each `--app-name` entry point, so `gunicorn 'mlflow.server.auth:create_app()'`
# counts as `--app-name basic-auth`.
APP_MODULES = {"mlflow.server.auth": "basic-auth"}
POSTGRES_IMAGES = {"postgres", "postgresql", "postgis", "timescaledb", "timescaledb-ha",
                   "pgvector", "spilo"}


def is_tracking_server(resource_type: str, props: Mapping[str, Any]) -> bool:
    spec = pod_spec(resource_type, props)
    if not is_a(resource_type, *LONG_RUNNING) or spec is None:
        return False
    return any(mlflow_server_apps(container) for container in app_containers(spec))


def mlflow_server_apps(container: Mapping[str, Any]) -> list[str]:
    """For every MLflow server the container starts, the app it serves ('' for the plain one)."""
    apps = []
    for invocation in invocations(container):
        if invocation[0] == "mlflow" and subcommand(invocation) in (["server"], ["ui"]):
            apps.append(option(invocation, "--app-name") or "")
        for word in invocation[1:]:
            app = MLFLOW_APP.match(word)
            if app:
                apps.append(APP_MODULES.get(app.group(1), app.group(0)))
    return apps


def served_model_uris(resource_type: str, props: Mapping[str, Any]) -> list[str | None]:
    """The model URIs a serving object loads (None: set from elsewhere, so unreadable)."""
    if is_a(resource_type, INFERENCE_SERVICE):
        predictor = mapping(dig(props, "spec", "predictor"))
        uris = [dig(runtime, "storageUri") for runtime in predictor.values()]
        return [uri for uri in uris if isinstance(uri, str)]
    spec = pod_spec(resource_type, props)
    if not is_a(resource_type, *LONG_RUNNING) or spec is None:
        return []
    return [uri for container in app_containers(spec) for uri in _model_uris(container)]


def _model_uris(container: Mapping[str, Any]) -> list[str | None]:
    uris: list[str | None] = [variable.get("value") if isinstance(variable.get("value"), str)
                              else None for variable in env_entries(container, MODEL_URI_ENV)]
    for invocation in invocations(container):
        if invocation[0] == "mlflow" and subcommand(invocation, 2) == ["models", "serve"]:
            uris.append(option(invocation, "-m", "--model-uri"))
    return uris


def is_model_server(resource_type: str, props: Mapping[str, Any]) -> bool:
    return bool(served_model_uris(resource_type, props))


def runs_postgres(resource_type: str, props: Mapping[str, Any]) -> bool:
    spec = pod_spec(resource_type, props)
    if not is_a(resource_type, *LONG_RUNNING) or spec is None:
        return False
    return any(image_repository(str(container.get("image", ""))).rsplit("/", 1)[-1]
               in POSTGRES_IMAGES for container in app_containers(spec))


def image_repository(image: str) -> str:
    """The image reference without its digest and tag."""
    name = image.split("@", 1)[0]
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > last_slash else name
