"""`up --auth`: the local platform behind MLflow's basic auth and the champion guard.

The same server app as the cluster's (``--app-name champion-guard``): users must log in, and
only the promotion gate's user moves `champion`. The admin's and the gate's passwords are
generated once and kept in the state directory (``credentials.json``, readable by its owner
only); the gate's user is created at each `up`, like the cluster's Job does.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from mlops_platform.governance.champion_guard import APP_NAME, GATE_USERNAME_ENV
from mlops_platform.governance.gate_identity import DEFAULT_GATE_USERNAME, ensure_gate_user
from mlops_platform.tools.create_reader import AuthApi, Credentials, ReaderSetupError
from mlops_platform.tracking_auth import basic_auth_ini

ADMIN_USERNAME = "admin"
GATE_USERNAME = DEFAULT_GATE_USERNAME
SERVER_ARGS = ("--app-name", APP_NAME)


class AuthSetupError(RuntimeError):
    """The server refused to set up the gate's user; the message says why."""


@dataclass(frozen=True)
class LocalCredentials:
    admin_password: str
    gate_password: str
    flask_secret_key: str

    @property
    def admin(self) -> Credentials:
        return Credentials(ADMIN_USERNAME, self.admin_password)

    @property
    def gate(self) -> Credentials:
        return Credentials(GATE_USERNAME, self.gate_password)


def credentials_path(state_dir: Path) -> Path:
    return state_dir / "credentials.json"


def load_or_create(state_dir: Path) -> LocalCredentials:
    """The state directory's credentials, generated on the first `up --auth`."""
    path = credentials_path(state_dir)
    if path.exists():
        # The file also names the users, for people who read it: only the secrets come back.
        saved = json.loads(path.read_text())
        return LocalCredentials(**{field.name: saved[field.name]
                                   for field in fields(LocalCredentials)})
    created = LocalCredentials(*(secrets.token_urlsafe(24) for _ in range(3)))
    _write_private(path, json.dumps({**asdict(created), "admin_username": ADMIN_USERNAME,
                                     "gate_username": GATE_USERNAME}, indent=2) + "\n")
    return created


def server_environment(state_dir: Path, credentials: LocalCredentials) -> dict[str, str]:
    """The server's auth settings: users beside the runs (auth.db), READ by default."""
    config = state_dir / "basic_auth.ini"
    _write_private(config, basic_auth_ini(f"sqlite:///{state_dir / 'auth.db'}"))
    return {"MLFLOW_AUTH_CONFIG_PATH": str(config),
            "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN_USERNAME,
            "MLFLOW_AUTH_ADMIN_PASSWORD": credentials.admin_password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": credentials.flask_secret_key,
            GATE_USERNAME_ENV: GATE_USERNAME}


def create_gate_user(url: str, credentials: LocalCredentials) -> None:
    try:
        ensure_gate_user(AuthApi(url, credentials.admin), credentials.gate)
    except ReaderSetupError as err:
        raise AuthSetupError(f"could not create the gate's user {GATE_USERNAME}: {err}") from err


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)  # an existing file keeps its mode through O_CREAT
