"""create_reader against a real `mlflow server --app-name basic-auth`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlops_platform.tools import create_reader
from tests.support.servers import AuthServer, running_basic_auth_mlflow

# Each test starts an MLflow server with basic auth.
pytestmark = pytest.mark.slow

READER = ("serving-reader", "reader-password-0123456789")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    with running_basic_auth_mlflow(tmp_path_factory.mktemp("mlflow-auth")) as running:
        yield running


@pytest.fixture
def job_environment(server: AuthServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_USERNAME", server.admin_username)
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", server.admin_password)
    monkeypatch.setenv("MLFLOW_READER_USERNAME", READER[0])
    monkeypatch.setenv("MLFLOW_READER_PASSWORD", READER[1])


def client_as(server: AuthServer, username: str, password: str,
              monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


@pytest.mark.usefixtures("job_environment")
def test_the_reader_reads_the_registry_and_cannot_write_it(
        server: AuthServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    admin = client_as(server, server.admin_username, server.admin_password, monkeypatch)
    admin.create_registered_model("churn")
    assert create_reader.main(["--tracking-uri", server.url]) == 0
    assert f"read-only user {READER[0]} created" in capsys.readouterr().out
    reader = client_as(server, *READER, monkeypatch)
    assert [model.name for model in reader.search_registered_models()] == ["churn"]
    # MLflow lets any user create models of its own; what the reader must not touch is
    # what others registered.
    with pytest.raises(MlflowException, match="Permission denied"):
        reader.set_registered_model_alias("churn", "champion", "1")
    with pytest.raises(MlflowException, match="Permission denied"):
        reader.update_registered_model("churn", description="changed")


@pytest.mark.usefixtures("job_environment")
def test_a_rerun_resets_the_password_to_the_secrets_one(
        server: AuthServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert create_reader.main(["--tracking-uri", server.url]) == 0
    monkeypatch.setenv("MLFLOW_READER_PASSWORD", "rotated-password-9876543210")
    assert create_reader.main(["--tracking-uri", server.url]) == 0
    assert f"read-only user {READER[0]} updated" in capsys.readouterr().out
    reader = client_as(server, READER[0], "rotated-password-9876543210", monkeypatch)
    reader.search_registered_models()
    stale = client_as(server, *READER, monkeypatch)
    with pytest.raises(MlflowException):
        stale.search_registered_models()


@pytest.mark.usefixtures("job_environment")
def test_wrong_admin_credentials_are_one_line_with_exit_1(
        server: AuthServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", "not-the-password")
    assert create_reader.main(["--tracking-uri", server.url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: the tracking server at {server.url} refused the admin "
                          "credentials (401")
    assert err.count("\n") == 1


def test_missing_credentials_name_the_variables(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    for name in (*create_reader.ADMIN_ENV, *create_reader.READER_ENV):
        monkeypatch.delenv(name, raising=False)
    assert create_reader.main(["--tracking-uri", "http://127.0.0.1:1"]) == 1
    assert capsys.readouterr().err == ("error: MLFLOW_AUTH_ADMIN_USERNAME and "
                                       "MLFLOW_AUTH_ADMIN_PASSWORD not set; the Job reads them "
                                       "from its Secrets\n")
