"""Server side: only the promotion gate's identity writes what the gate trusts.

An MLflow server app (``mlflow server --app-name champion-guard``, registered under the
``mlflow.app`` entry points): MLflow's basic-auth app plus one check that runs after it has
authenticated the request. Refused (403, one line) unless the authenticated user is the gate's,
named by ``MLOPS_GATE_USERNAME`` in the server's environment:

- setting or deleting a protected alias, deleting the version it points at, and deleting or
  renaming a model that has one;
- setting or deleting a tag of ``contract.GATE_ONLY_TAGS`` on a registered model or a version,
  or creating either with one;
- writing or deleting, through the server's artifact routes, any file of a run that has a
  registered version or of a logged model from such a run (every registered version, not only
  promoted ones: the gate measures and hashes a version's files, so they must not change between
  registration and promotion either), and deleting a folder above a run's artifacts. Under
  uvicorn, FastAPI answers artifact uploads (PUT) itself, so a FastAPI middleware refuses those.

Least privilege: the admin is refused too (an operator repairs a champion through
``mlops-policy promote --reset-champion-from-audit``, run with the gate's credentials), and a
server without ``MLOPS_GATE_USERNAME`` lets nobody move a protected alias. Every other alias
(``challenger``, …) keeps MLflow's own permissions.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
from collections.abc import Callable, Iterable
from typing import Any

from mlops_platform.contract import ALIAS_CHAMPION, GATE_ONLY_TAGS

APP_NAME = "champion-guard"
GATE_USERNAME_ENV = "MLOPS_GATE_USERNAME"
PROTECTED_ALIASES = frozenset({ALIAS_CHAMPION})

# The ids MLflow puts in artifact paths: runs (uuid hex) and logged models (m-<uuid hex>).
RUN_ID = re.compile(r"[0-9a-f]{32}")
LOGGED_MODEL_ID = re.compile(r"m-[0-9a-f]{32}")

_logger = logging.getLogger(__name__)


def create_app(app: Any = None) -> Any:
    """The basic-auth app (Flask, or FastAPI around it under uvicorn) with the guard added."""
    from mlflow.server import app as flask_app
    from mlflow.server import auth

    flask_app = app if app is not None else flask_app
    served = auth.create_app(flask_app)
    # Registered after basic-auth's own hook, so it runs once the user is authenticated.
    flask_app.before_request(guard_protected_aliases(_guarded_routes()))
    if hasattr(served, "middleware"):  # FastAPI serves artifact uploads itself, past Flask
        served.middleware("http")(_guard_native_uploads)
    if not os.environ.get(GATE_USERNAME_ENV):
        _logger.warning("%s is not set: nobody can move the aliases %s", GATE_USERNAME_ENV,
                        ", ".join(sorted(PROTECTED_ALIASES)))
    return served


def guard_protected_aliases(routes: dict[tuple[str, str], Callable[[dict], str | None]]
                            ) -> Callable[[], Any]:
    """A before-request hook: the refusal for a request that would move a protected alias."""

    def check() -> Any:
        from flask import g, request

        rule = request.url_rule.rule if request.url_rule is not None else request.path
        touches = routes.get((rule, request.method))
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
                          "run `mlops-policy promote` (or approve) with the gate's credentials")

    return check


NATIVE_UPLOAD = re.compile(r"/(?:api|ajax-api)/2\.0/mlflow-artifacts/artifacts/(?P<path>.+)")


async def _guard_native_uploads(request: Any, call_next: Callable) -> Any:
    """The upload route FastAPI answers natively, refused as the Flask routes are."""
    from urllib.parse import unquote

    from fastapi.responses import JSONResponse
    from mlflow.server import auth

    upload = NATIVE_UPLOAD.fullmatch(request.url.path)
    owner = _registered_owner(unquote(upload["path"])) \
        if upload and request.method == "PUT" else None
    if owner is None:
        return await call_next(request)
    user = auth._authenticate_fastapi_request(request)
    name = user.username if user is not None else None
    if name and name == os.environ.get(GATE_USERNAME_ENV):
        return await call_next(request)
    return JSONResponse({"error_code": "PERMISSION_DENIED", "message": (
        f"only the promotion gate's identity may write or delete the artifact "
        f"{upload['path']!r} of {owner} (you are {name!r})")}, status_code=403)


def _guarded_routes() -> dict[tuple[str, str], Callable[[dict], str | None]]:
    """(path, method) of every REST and ajax-api route that can change what the gate trusts."""
    from mlflow.protos import mlflow_artifacts_pb2 as artifacts
    from mlflow.protos import model_registry_pb2 as registry
    from mlflow.protos.service_pb2 import CreatePresignedUploadUrl
    from mlflow.server.handlers import get_endpoints

    checks = {registry.SetRegisteredModelAlias: _alias_change,
              registry.DeleteRegisteredModelAlias: _alias_change,
              registry.DeleteModelVersion: _version_delete,
              registry.DeleteRegisteredModel: _model_change,
              registry.RenameRegisteredModel: _model_change,
              registry.SetRegisteredModelTag: _tag_change,
              registry.DeleteRegisteredModelTag: _tag_change,
              registry.SetModelVersionTag: _tag_change,
              registry.DeleteModelVersionTag: _tag_change,
              registry.CreateRegisteredModel: _tag_change,
              registry.CreateModelVersion: _tag_change,
              artifacts.UploadArtifact: _artifact_write,
              artifacts.DeleteArtifact: _artifact_delete,
              artifacts.CreateMultipartUpload: _artifact_write,
              artifacts.CompleteMultipartUpload: _artifact_write,
              artifacts.AbortMultipartUpload: _artifact_write,
              CreatePresignedUploadUrl: _presigned_upload}
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


def _tag_change(params: dict[str, set[str]]) -> str | None:
    keys = sorted(params.get("key", set()) & GATE_ONLY_TAGS)
    keys += sorted(params.get("tags.key", set()) & GATE_ONLY_TAGS)
    if not keys:
        return None
    return f"set or delete the tag {keys[0]!r} of registered model {_one(params, 'name')!r}"


def _artifact_write(params: dict[str, set[str]]) -> str | None:
    for path in params.get("artifact_path", ()):
        owner = _registered_owner(path)
        if owner:
            return f"write or delete the artifact {path!r} of {owner}"
    return None


def _artifact_delete(params: dict[str, set[str]]) -> str | None:
    for path in params.get("artifact_path", ()):
        if not _ids_in(path):
            return f"delete {path!r}, a folder above the artifacts of runs and models"
    return _artifact_write(params)


def _presigned_upload(params: dict[str, set[str]]) -> str | None:
    for run_id in params.get("run_id", ()):
        if owner := _versions_of_run(run_id):
            return f"upload into the artifacts of run {run_id}, {owner}"
    for model_id in params.get("model_id", ()):
        location = _logged_model_location(model_id)
        if location:
            return f"upload into the artifacts of logged model {model_id}, {location[1]}"
    return None


def _registered_owner(path: str) -> str | None:
    """Which registered versions own the file or folder at `path` (relative to the artifact
    root the server proxies), in words; None when no registered version does."""
    target = posixpath.normpath(path.lstrip("/"))
    for location, owner in filter(None, map(_location_of, _ids_in(path))):
        if _nested(target, location) or _nested(location, target):
            return owner
    return None


def _ids_in(path: str) -> list[str]:
    return [part for part in path.split("/")
            if RUN_ID.fullmatch(part) or LOGGED_MODEL_ID.fullmatch(part)]


def _location_of(artifact_id: str) -> tuple[str, str] | None:
    """(proxied path, owner in words) of a run or logged model that has a registered version."""
    if LOGGED_MODEL_ID.fullmatch(artifact_id):
        return _logged_model_location(artifact_id)
    owner = _versions_of_run(artifact_id)
    if not owner:
        return None
    from mlflow.server.handlers import _get_tracking_store

    return _proxied_path(_get_tracking_store().get_run(artifact_id).info.artifact_uri), owner


def _logged_model_location(model_id: str) -> tuple[str, str] | None:
    from mlflow.exceptions import MlflowException
    from mlflow.server.handlers import _get_tracking_store

    try:
        model = _get_tracking_store().get_logged_model(model_id)
    except MlflowException:
        return None
    owner = _versions_of_run(model.source_run_id) if model.source_run_id else ""
    return (_proxied_path(model.artifact_location), owner) if owner else None


def _versions_of_run(run_id: str) -> str:
    """'registered model NAME version N' for each version of the run, '' when none."""
    from mlflow.exceptions import MlflowException

    try:
        versions = _registry_store().search_model_versions(f"run_id = '{run_id}'")
    except MlflowException:
        return ""
    return ", ".join(f"registered model {v.name!r} version {v.version}" for v in versions)


def _proxied_path(uri: str) -> str:
    """The path under the served artifact root of an mlflow-artifacts or http(s) location; a
    location the server does not proxy (s3://, a folder) gets a path no request can name."""
    from mlflow.server.handlers import _get_proxied_run_artifact_destination_path

    try:
        return posixpath.normpath(_get_proxied_run_artifact_destination_path(uri))
    except AssertionError:
        return "\0not-proxied"


def _nested(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


def _request_params(request: Any) -> dict[str, set[str]]:
    """Every value a handler could read a field from: the query string, the JSON body (also
    double-encoded, which MLflow decodes), the route's path variables and the keys of `tags`."""
    found: dict[str, set[str]] = {}
    body = request.get_json(force=True, silent=True)
    if isinstance(body, str):
        body = _json_or_none(body)
    sources: list[Iterable[tuple[str, Any]]] = [request.args.items(multi=True),
                                                (request.view_args or {}).items()]
    if isinstance(body, dict):
        sources.append(body.items())
        sources.append(("tags.key", tag.get("key")) for tag in body.get("tags") or ()
                       if isinstance(tag, dict))
    for source in sources:
        for key, value in source:
            found.setdefault(key, set()).add(str(value))
    return found


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


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
