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

import contextlib
import os
from collections.abc import Iterator, MutableMapping

from mlops_platform.tools.create_reader import (
    AuthApi,
    Credentials,
    ensure_user,
    run_user_setup,
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
    return ensure_user(api, gate, GATE_GRANTS)


def main(argv: list[str] | None = None) -> int:
    return run_user_setup(argv, prog="python -m mlops_platform.governance.gate_identity",
                          description=__doc__, user_env=GATE_ENV, ensure=ensure_gate_user,
                          role="promotion gate user")


if __name__ == "__main__":
    raise SystemExit(main())
