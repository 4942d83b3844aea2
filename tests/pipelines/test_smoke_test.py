"""The platform smoke test, against the embedded local platform (the kind workflow runs it too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_platform.ci.smoke_test import main
from mlops_platform.contract import PlatformOutputs
from mlops_platform.processes import free_port


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
