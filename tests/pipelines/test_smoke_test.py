"""The platform smoke test, against the embedded local platform (the kind workflow runs it too)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_platform.ci.smoke_test import main
from mlops_platform.contract import PlatformOutputs
from mlops_platform.processes import free_port
from tests.support.servers import AuthServer, running_basic_auth_mlflow

# Each test starts an MLflow server with basic auth.
pytestmark = pytest.mark.slow


def test_it_logs_a_run_and_registers_a_model(
        shared_platform: PlatformOutputs, shared_platform_outputs_file: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--outputs", str(shared_platform_outputs_file)]) == 0
    out = capsys.readouterr().out
    model_name = out.split("model ")[1].split(" ")[0]
    versions = MlflowClient(shared_platform.tracking_uri).search_model_versions(
        f"name = '{model_name}'")
    assert [version.version for version in versions] == ["1"]


def test_an_unreachable_server_is_exit_2_with_the_fix(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tracking-uri", f"http://127.0.0.1:{free_port()}"]) == 2
    assert "is unreachable" in capsys.readouterr().err


def test_a_missing_outputs_file_is_exit_2(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--outputs", str(tmp_path / "nowhere.json")]) == 2
    assert "nowhere.json" in capsys.readouterr().err


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    with running_basic_auth_mlflow(tmp_path_factory.mktemp("mlflow-auth")) as server:
        yield server


def test_with_the_platforms_credentials_it_passes_behind_basic_auth(
        auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in auth_server.admin_environment().items():
        monkeypatch.setenv(name, value)
    assert main(["--tracking-uri", auth_server.url]) == 0
    assert "smoke test passed" in capsys.readouterr().out


def test_without_credentials_the_401_is_one_line_naming_the_variables(
        auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--tracking-uri", auth_server.url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"smoke test failed: the tracking server at {auth_server.url} "
                          "refused the request")
    assert "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD: set them" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_wrong_credentials_are_one_line_saying_to_check_them(
        auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", auth_server.admin_username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong-password")
    assert main(["--tracking-uri", auth_server.url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("smoke test failed: ") and err.count("\n") == 1
    assert "check them" in err
