"""Create (or re-key) the MLflow user the promotion gate moves `champion` with.

``python -m mlops_platform.governance.gate_identity --tracking-uri http://mlflow…:5000`` with
the admin's credentials in MLFLOW_AUTH_ADMIN_USERNAME/_PASSWORD and the gate's in
MLFLOW_GATE_USERNAME/_PASSWORD. Through MLflow's auth REST API it creates the user (or sets its
password), makes sure it is no admin and grants it what the gate needs and no more: EDIT on
every registered model (aliases, version tags, the audit head) and READ on every experiment
(the runs and artifacts it rescores). The server's champion guard
(``mlops_platform.governance.champion_guard``) lets this user, and only it, move `champion`.
Exit 0 when the user exists as described, 1 with one line saying why not.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, MutableMapping

from mlops_platform.tools.create_reader import (
    ADMIN_ENV,
    DEFAULT_WAIT_SECONDS,
    AuthApi,
    Credentials,
    ReaderSetupError,
)

GATE_ENV = ("MLFLOW_GATE_USERNAME", "MLFLOW_GATE_PASSWORD")
# The gate's user on the platform's servers (the champion guard's MLOPS_GATE_USERNAME).
DEFAULT_GATE_USERNAME = "promotion-gate"
GATE_GRANTS = (("registered_model", "EDIT"), ("experiment", "READ"))
CLIENT_CREDENTIALS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


@contextlib.contextmanager
def gate_credentials(environ: MutableMapping[str, str] = os.environ) -> Iterator[None]:
    """MLflow's client speaks as the gate (MLFLOW_GATE_*) while inside, when those are set.

    A CI job that trains as the writer and then promotes (the pipeline's promote stage) holds
    both identities; only the gate's may move `champion`, so the gate switches to it and back.
    """
    gate = [environ.get(name, "") for name in GATE_ENV]
    if not all(gate):
        yield
        return
    saved = {name: environ.get(name) for name in CLIENT_CREDENTIALS}
    environ.update(zip(CLIENT_CREDENTIALS, gate, strict=True))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value


def ensure_gate_user(api: AuthApi, gate: Credentials) -> bool:
    """Create the gate's user or reset its password, drop admin, grant; True when created."""
    status, answer = api.call("GET", f"/api/2.0/mlflow/users/get?username={gate.username}")
    if status in (401, 403):
        raise ReaderSetupError(f"the tracking server at {api.base} refused the admin "
                               f"credentials ({status}); check {' and '.join(ADMIN_ENV)}")
    created = status == 404
    if created:
        _expect(api.call("POST", "/api/2.0/mlflow/users/create",
                         {"username": gate.username, "password": gate.password}), "create the user")
    else:
        _expect(api.call("PATCH", "/api/2.0/mlflow/users/update-password",
                         {"username": gate.username, "password": gate.password}),
                "set the user's password")
    _expect(api.call("PATCH", "/api/2.0/mlflow/users/update-admin",
                     {"username": gate.username, "is_admin": False}), "drop admin rights")
    for resource_type, permission in GATE_GRANTS:
        status, answer = api.call("POST", "/api/3.0/mlflow/users/permissions/grant", {
            "username": gate.username, "resource_type": resource_type, "resource_id": "*",
            "permission": permission})
        if answer.get("error_code") != "RESOURCE_ALREADY_EXISTS":
            _expect((status, answer), f"grant {permission} on every {resource_type}")
    return created


def _expect(result: tuple[int, dict], what: str) -> None:
    status, answer = result
    if status != 200:
        raise ReaderSetupError(f"could not {what} ({status}: {answer.get('message', answer)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.governance.gate_identity",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--wait-seconds", type=float, default=DEFAULT_WAIT_SECONDS,
                        help="how long to wait for the tracking server to answer")
    args = parser.parse_args(argv)
    try:
        admin, gate = Credentials.from_env(ADMIN_ENV), Credentials.from_env(GATE_ENV)
        api = AuthApi(args.tracking_uri, admin)
        api.wait_until_up(args.wait_seconds)
        created = ensure_gate_user(api, gate)
    except ReaderSetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"promotion gate user {gate.username} {'created' if created else 'updated'} at "
          f"{args.tracking_uri}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
