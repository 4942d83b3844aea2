"""The tracking server's basic-auth settings (MLflow's ``basic_auth.ini``), one text for the
cluster, the local platform and the tests' servers.

Users and permissions live in ``database_uri``; anyone authenticated may read. MLflow's
credential cache is on: without it every authenticated request pays a scrypt check of the
password (about 130 ms of CPU here, twice under uvicorn: FastAPI's middleware and Flask's
hook), so one worker answers about three authenticated requests a second. The cache keys on an
HMAC of the password with a per-process secret, so it holds nothing an attacker could test
passwords against. Its price is staleness: a password changed or a user deleted through one
worker still works on the other workers for up to ``CREDENTIAL_CACHE_SECONDS``.
"""

from __future__ import annotations

CREDENTIAL_CACHE_SECONDS = 30
AUTHORIZATION_FUNCTION = "mlflow.server.auth:authenticate_request_basic_auth"


def basic_auth_ini(database_uri: str, **settings: str) -> str:
    """The ``[mlflow]`` section; ``settings`` adds keys (e.g. ``admin_username``)."""
    lines = {"default_permission": "READ", "database_uri": database_uri,
             "authorization_function": AUTHORIZATION_FUNCTION,
             "auth_cache_ttl_seconds": str(CREDENTIAL_CACHE_SECONDS), **settings}
    return "[mlflow]\n" + "".join(f"{key} = {value}\n" for key, value in lines.items())
