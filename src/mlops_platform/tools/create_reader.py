"""Create (or re-key) the MLflow user that serving reads the registry with, read-only.

``python -m mlops_platform.tools.create_reader --tracking-uri http://mlflow…:5000`` with the
admin's credentials in MLFLOW_AUTH_ADMIN_USERNAME/_PASSWORD and the reader's in
MLFLOW_READER_USERNAME/_PASSWORD (all from Secrets). Through MLflow's auth REST API it
creates the user (or sets its password when it exists), makes sure it is no admin and
grants it READ on every registered model and experiment. The admin's credentials stay in
the platform namespace; the serving namespace holds only the reader's.
Exit 0 when the reader exists as described, 1 with one line saying why not.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_platform.tools.endpoint import unreachable_cause

ADMIN_ENV = ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD")
READER_ENV = ("MLFLOW_READER_USERNAME", "MLFLOW_READER_PASSWORD")
# Model versions' artifacts sit in experiments' runs: loading a model reads both.
READ_GRANTS = ("registered_model", "experiment")
DEFAULT_WAIT_SECONDS = 300.0


class ReaderSetupError(RuntimeError):
    """The tracking server refused or never answered; the message says which."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    @classmethod
    def from_env(cls, names: tuple[str, str]) -> Credentials:
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            raise ReaderSetupError(f"{' and '.join(missing)} not set; the Job reads them from "
                                   "its Secrets")
        return cls(os.environ[names[0]], os.environ[names[1]])


class AuthApi:
    """The basic-auth app's REST endpoints, called as the admin."""

    def __init__(self, tracking_uri: str, admin: Credentials, timeout: float = 10.0) -> None:
        self.base = tracking_uri.rstrip("/")
        token = base64.b64encode(f"{admin.username}:{admin.password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None
             ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body); 4xx answers are returned, not raised."""
        url = f"{self.base}{path}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the tracking server's http(s) URL
            url, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, _json(response.read())
        except urllib.error.HTTPError as err:
            if err.code >= 500:
                raise ReaderSetupError(f"{method} {url} answered {err.code}: "
                                       f"{_message(err.read())}") from None
            return err.code, _json(err.read())

    def wait_until_up(self, wait_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/health",  # noqa: S310
                                            timeout=self.timeout):
                    return
            except (urllib.error.URLError, OSError) as err:
                if time.monotonic() >= deadline:
                    raise ReaderSetupError(
                        f"the tracking server at {self.base} did not answer within "
                        f"{wait_seconds:.0f} s: {unreachable_cause(self.base)} ({err})") from None
                time.sleep(2)


def ensure_reader(api: AuthApi, reader: Credentials) -> bool:
    """Create the reader or reset its password, drop admin, grant READ; True when created."""
    return ensure_user(api, reader, [(resource, "READ") for resource in READ_GRANTS])


def ensure_user(api: AuthApi, user: Credentials, grants: Sequence[tuple[str, str]]) -> bool:
    """Create ``user`` or reset its password, drop admin, grant each (resource type,
    permission) on every resource; True when created."""
    status, answer = api.call("GET", f"/api/2.0/mlflow/users/get?username={user.username}")
    _refuse_bad_admin(status, answer, api.base)
    created = status == 404
    if created:
        _expect(api.call("POST", "/api/2.0/mlflow/users/create",
                         {"username": user.username, "password": user.password}),
                "create the user")
    else:
        _expect(api.call("PATCH", "/api/2.0/mlflow/users/update-password",
                         {"username": user.username, "password": user.password}),
                "set the user's password")
    _expect(api.call("PATCH", "/api/2.0/mlflow/users/update-admin",
                     {"username": user.username, "is_admin": False}), "drop admin rights")
    for resource_type, permission in grants:
        status, answer = api.call("POST", "/api/3.0/mlflow/users/permissions/grant", {
            "username": user.username, "resource_type": resource_type,
            "resource_id": "*", "permission": permission})
        if answer.get("error_code") != "RESOURCE_ALREADY_EXISTS":
            _expect((status, answer), f"grant {permission} on every {resource_type}")
    return created


def _refuse_bad_admin(status: int, answer: dict[str, Any], base: str) -> None:
    if status in (401, 403):
        raise ReaderSetupError(f"the tracking server at {base} refused the admin credentials "
                               f"({status}: {answer.get('message', 'unauthorized')}); check "
                               f"{' and '.join(ADMIN_ENV)}")
    if status not in (200, 404):
        raise ReaderSetupError(f"cannot look the user up at {base} ({status}: "
                               f"{answer.get('message', '')})")


def _expect(result: tuple[int, dict[str, Any]], what: str) -> None:
    status, answer = result
    if status != 200:
        raise ReaderSetupError(f"could not {what} ({status}: {answer.get('message', answer)})")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        return {"message": raw.decode(errors="replace").strip()[:200]}
    return value if isinstance(value, dict) else {"message": str(value)}


def _message(raw: bytes) -> str:
    return str(_json(raw).get("message", ""))


def run_user_setup(argv: list[str] | None, *, prog: str, description: str, user_env: str,
                   ensure: Callable[[AuthApi, Credentials], bool], role: str) -> int:
    """The command line of a Job that creates (or re-keys) one user with the admin's login."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--wait-seconds", type=float, default=DEFAULT_WAIT_SECONDS,
                        help="how long to wait for the tracking server to answer")
    args = parser.parse_args(argv)
    try:
        admin, user = Credentials.from_env(ADMIN_ENV), Credentials.from_env(user_env)
        api = AuthApi(args.tracking_uri, admin)
        api.wait_until_up(args.wait_seconds)
        created = ensure(api, user)
    except ReaderSetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{role} {user.username} {'created' if created else 'updated'} at "
          f"{args.tracking_uri}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_user_setup(argv, prog="python -m mlops_platform.tools.create_reader",
                          description=__doc__, user_env=READER_ENV, ensure=ensure_reader,
                          role="read-only user")


if __name__ == "__main__":
    raise SystemExit(main())
