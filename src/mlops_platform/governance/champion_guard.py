"""Server side: only the promotion gate's identity moves `champion` in the registry.

An MLflow server app (``mlflow server --app-name champion-guard``, registered under the
``mlflow.app`` entry points): MLflow's basic-auth app plus one check that runs after it has
authenticated the request. Setting or deleting a protected alias, deleting the version it
points at, and deleting or renaming a model that has one are refused (403, one line) unless the
authenticated user is the gate's, named by ``MLOPS_GATE_USERNAME`` in the server's environment.

Least privilege: the admin is refused too (an operator repairs a champion through
``mlops-policy promote --reset-champion-from-audit``, run with the gate's credentials), and a
server without ``MLOPS_GATE_USERNAME`` lets nobody move a protected alias. Every other alias
(``challenger``, …) keeps MLflow's own permissions.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from mlops_platform.contract import ALIAS_CHAMPION

APP_NAME = "champion-guard"
GATE_USERNAME_ENV = "MLOPS_GATE_USERNAME"
PROTECTED_ALIASES = frozenset({ALIAS_CHAMPION})

_logger = logging.getLogger(__name__)


def create_app(app: Any = None) -> Any:
    """The basic-auth app (Flask, or FastAPI around it under uvicorn) with the guard added."""
    from mlflow.server import app as flask_app
    from mlflow.server import auth

    flask_app = app if app is not None else flask_app
    served = auth.create_app(flask_app)
    # Registered after basic-auth's own hook, so it runs once the user is authenticated.
    flask_app.before_request(guard_protected_aliases(_guarded_routes()))
    if not os.environ.get(GATE_USERNAME_ENV):
        _logger.warning("%s is not set: nobody can move the aliases %s", GATE_USERNAME_ENV,
                        ", ".join(sorted(PROTECTED_ALIASES)))
    return served


def guard_protected_aliases(routes: dict[tuple[str, str], Callable[[dict], str | None]]
                            ) -> Callable[[], Any]:
    """A before-request hook: the refusal for a request that would move a protected alias."""

    def check() -> Any:
        from flask import g, request

        touches = routes.get((request.path, request.method))
        if touches is None:
            return None
        what = touches(_request_params(request))
        if what is None:
            return None
        user = g.get("mlflow_authenticated_user")
        gate = os.environ.get(GATE_USERNAME_ENV, "")
        if gate and user == gate:
            return None
        return _forbidden(f"only the promotion gate's identity may {what} (you are {user!r}); "
                          "run `mlops-policy promote` with the gate's credentials")

    return check


def _guarded_routes() -> dict[tuple[str, str], Callable[[dict], str | None]]:
    """(path, method) of every REST and ajax-api route that can move a protected alias."""
    from mlflow.protos.model_registry_pb2 import (
        DeleteModelVersion,
        DeleteRegisteredModel,
        DeleteRegisteredModelAlias,
        RenameRegisteredModel,
        SetRegisteredModelAlias,
    )
    from mlflow.server.handlers import get_endpoints

    checks = {SetRegisteredModelAlias: _alias_change, DeleteRegisteredModelAlias: _alias_change,
              DeleteModelVersion: _version_delete, DeleteRegisteredModel: _model_change,
              RenameRegisteredModel: _model_change}
    routes = {}
    # get_endpoints hands each route's request class to the callable: the routes by class.
    for path, request_class, methods in get_endpoints(lambda request_class: request_class):
        if request_class in checks:
            routes.update({(path, method): checks[request_class] for method in methods})
    return routes


def _alias_change(params: dict[str, set[str]]) -> str | None:
    protected = sorted(alias for alias in params.get("alias", ())
                       if alias.lower() in PROTECTED_ALIASES)
    if not protected:
        return None
    return f"move the alias {protected[0]!r} of registered model {_one(params, 'name')!r}"


def _version_delete(params: dict[str, set[str]]) -> str | None:
    store = _registry_store()
    for name in params.get("name", ()):
        for version in params.get("version", ()):
            aliases = _version_aliases(store, name, version)
            if aliases & PROTECTED_ALIASES:
                return (f"delete version {version} of registered model {name!r}, which holds "
                        f"the alias {sorted(aliases & PROTECTED_ALIASES)[0]!r}")
    return None


def _model_change(params: dict[str, set[str]]) -> str | None:
    store = _registry_store()
    for name in params.get("name", ()):
        aliases = _model_aliases(store, name)
        if aliases & PROTECTED_ALIASES:
            return (f"delete or rename registered model {name!r}, which holds the alias "
                    f"{sorted(aliases & PROTECTED_ALIASES)[0]!r}")
    return None


def _request_params(request: Any) -> dict[str, set[str]]:
    """Every value a handler could read a field from: the query string and the JSON body."""
    found: dict[str, set[str]] = {}
    body = request.get_json(force=True, silent=True)
    sources: list[Iterable[tuple[str, Any]]] = [request.args.items(multi=True)]
    if isinstance(body, dict):
        sources.append(body.items())
    for source in sources:
        for key, value in source:
            found.setdefault(key, set()).add(str(value))
    return found


def _registry_store() -> Any:
    from mlflow.server.handlers import _get_model_registry_store

    return _get_model_registry_store()


def _version_aliases(store: Any, name: str, version: str) -> set[str]:
    from mlflow.exceptions import MlflowException

    try:
        return {alias.lower() for alias in store.get_model_version(name, version).aliases}
    except MlflowException:
        return set()  # no such version: MLflow's handler answers it


def _model_aliases(store: Any, name: str) -> set[str]:
    from mlflow.exceptions import MlflowException

    try:
        return {alias.lower() for alias in store.get_registered_model(name).aliases}
    except MlflowException:
        return set()


def _one(params: dict[str, set[str]], key: str) -> str:
    return ", ".join(sorted(params.get(key, ()))) or "?"


def _forbidden(message: str) -> Any:
    from flask import make_response

    response = make_response(json.dumps({"error_code": "PERMISSION_DENIED",
                                         "message": message}), 403)
    response.mimetype = "application/json"
    return response
