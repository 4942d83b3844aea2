"""Ways around mlflow-auth-enabled: the server started through a shell or another entry point."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "mlflow-auth-enabled"


def server(*words: str, type_: str = obj.k8s.DEPLOYMENT) -> obj.Resource:
    return obj.deployment(obj.container(name="mlflow", command=list(words)), name="mlflow",
                          namespace="platform", type_=type_)


EVASIONS = {
    "sh -c": server("sh", "-c", "mlflow server --host 0.0.0.0 --port 5000"),
    "bash -c after setup, with exec": server(
        "/bin/bash", "-ec", "pip install psycopg2 && exec mlflow server --port 5000"),
    "python -m mlflow": server("python", "-m", "mlflow", "server", "--port", "5000"),
    "python3.11 -u -m mlflow": server("python3.11", "-u", "-m", "mlflow", "server"),
    "a venv path": server("/opt/venv/bin/mlflow", "server", "--port", "5000"),
    "mlflow ui": server("mlflow", "ui", "--port", "5000"),
    "gunicorn on mlflow.server:app": server("gunicorn", "-b", ":5000", "mlflow.server:app"),
    "uvicorn on the FastAPI app": server("uvicorn", "mlflow.server.fastapi_app:app"),
    "the auth option only in an echo": server(
        "sh", "-c", "echo --app-name basic-auth; mlflow server --port 5000"),
    "the auth option overridden later": server("mlflow", "server", "--app-name", "basic-auth",
                                               "--app-name", "custom"),
    "an unknown app": server("mlflow", "server", "--app-name=my-open-app"),
    "command and args split": obj.deployment(obj.container(
        name="mlflow", command=["/bin/sh", "-c"], args=["mlflow server"]), name="mlflow"),
    "a bare Pod": obj.bare_pod(obj.container(name="mlflow", command=["mlflow", "server"])),
    "a Job": server("mlflow", "server", type_=obj.k8s.JOB),
    "a sidecar init container": obj.with_pod(obj.deployment(), initContainers=[obj.container(
        name="mlflow", restartPolicy="Always", command=["mlflow", "server"])]),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("without authentication" in m for m in caught(RULE, EVASIONS[way], "dev"))


HELD = {
    "sh -c with the auth app": server("sh", "-c", "exec mlflow server --app-name basic-auth"),
    "gunicorn on the auth app": server("gunicorn", "mlflow.server.auth:create_app()"),
    "a client that names a server": server("mlflow", "experiments", "search"),
    "a database migration": server("mlflow", "db", "upgrade", "$MLFLOW_BACKEND_STORE_URI"),
}


@pytest.mark.parametrize("held", sorted(HELD))
def test_authenticated_or_serverless_commands_pass(held: str) -> None:
    assert run_rule(RULE, HELD[held], "dev") == []
