"""The pipeline stops cleanly: on data that breaks its contract, and without a tracking server."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer

import infra.local_platform as local_platform
from infra.outputs import PlatformOutputs
from policies import ml_contract
from tests.template.baking import VENV, bake, make

pytestmark = pytest.mark.slow

EXPERIMENT = "breast-cancer-classifier"


@dataclass(frozen=True)
class CsvProject:
    project: Path
    raw_csv: Path
    clean: pd.DataFrame
    model_name: str
    client: MlflowClient

    def run_count(self) -> int:
        experiment = self.client.get_experiment_by_name(EXPERIMENT)
        return len(self.client.search_runs([experiment.experiment_id])) if experiment else 0

    def versions(self) -> list[str]:
        return sorted(v.version for v in self.client.search_model_versions(
            f"name = '{self.model_name}'"))

    def challenger(self) -> str:
        return self.client.get_model_version_by_alias(
            self.model_name, ml_contract.ALIAS_CHALLENGER).version


@pytest.fixture(scope="module")
def csv_project(tmp_path_factory: pytest.TempPathFactory, shared_platform: PlatformOutputs,
                shared_platform_outputs_file: Path) -> CsvProject:
    """A level-1 project on a CSV data set, after one good pipeline run."""
    base = tmp_path_factory.mktemp("csv-project")
    clean = load_breast_cancer(as_frame=True).frame
    source = base / "tumours.csv"
    clean.to_csv(source, index=False)
    model_name = f"corrupted-data-{uuid.uuid4().hex[:8]}"
    project = bake(base / "out", maturity_level="1", dataset=str(source), model_name=model_name,
                   platform_outputs=str(shared_platform_outputs_file))
    make(project, "pipeline")
    return CsvProject(project, project / "data/raw/tumours.csv", clean, model_name,
                      MlflowClient(shared_platform.tracking_uri))


def corrupted(frame: pd.DataFrame) -> pd.DataFrame:
    """Nulls in one column, out-of-range values in another, a third column gone."""
    broken = frame.drop(columns=["mean area"])
    broken.loc[broken.index[:5], "mean radius"] = None
    broken.loc[broken.index[:3], "mean texture"] = -5.0
    return broken


def test_corrupted_data_stops_at_validate_naming_each_column(csv_project: CsvProject) -> None:
    runs, versions, challenger = (csv_project.run_count(), csv_project.versions(),
                                  csv_project.challenger())
    corrupted(csv_project.clean).to_csv(csv_project.raw_csv, index=False)
    result = make(csv_project.project, "pipeline", check=False)
    assert result.returncode != 0
    assert "error: validate stopped" in result.stderr
    # Validation is lazy: one run names every broken column.
    for problem in ("column 'mean radius': has nulls",
                    "column 'mean texture': values out of range",
                    "column 'mean area': missing"):
        assert problem in result.stderr
    assert "Running stage 'train'" not in result.stdout
    assert csv_project.run_count() == runs  # nothing trained
    assert csv_project.versions() == versions  # nothing registered
    assert csv_project.challenger() == challenger


def repro(project: Path, stage: str) -> None:
    """`dvc repro <stage>` in the project's environment, as the Makefile sets it up."""
    env = {**os.environ, "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}",
           "PYTHONPATH": str(project / "src")}
    subprocess.run([str(VENV / "bin" / "python"), "-m", "dvc", "repro", stage], cwd=project,
                   env=env, check=True, capture_output=True)


@pytest.fixture
def platform_dir(tmp_path: Path) -> Iterator[Path]:
    state_dir = tmp_path / "platform"
    try:
        yield state_dir
    finally:
        local_platform.down(state_dir)


def start_platform(state_dir: Path) -> PlatformOutputs:
    return local_platform.up(local_platform.LocalPlatformSettings(state_dir=state_dir)).outputs


def back_on_the_same_state(state_dir: Path, project: Path) -> PlatformOutputs:
    """Restart on the same runs and registry; its new address goes where the project reads it.

    A new port, because the old one stays in TIME_WAIT for a while after the server stops.
    """
    outputs = start_platform(state_dir)
    outputs.write(project / "platform_outputs.json")
    return outputs


def assert_unreachable(result: subprocess.CompletedProcess[str], outputs: PlatformOutputs,
                       step: str) -> None:
    assert result.returncode != 0
    assert f"error: {step} stopped: the tracking server is unreachable at " \
           f"{outputs.tracking_uri}" in result.stderr
    assert "platform_outputs.json" in result.stderr


def test_a_server_killed_mid_pipeline_stops_it_and_nothing_registers_until_it_is_back(
        tmp_path: Path, platform_dir: Path) -> None:
    outputs = start_platform(platform_dir)
    model_name = f"server-down-{uuid.uuid4().hex[:8]}"
    project = bake(tmp_path / "out", model_name=model_name,
                   platform_outputs=str(platform_dir / "outputs.json"))

    repro(project, "evaluate")
    local_platform.down(platform_dir)  # killed between training and registration
    assert_unreachable(make(project, "pipeline", check=False), outputs, "register")

    outputs = back_on_the_same_state(platform_dir, project)
    client = MlflowClient(outputs.tracking_uri)
    assert client.search_model_versions(f"name = '{model_name}'") == []
    result = make(project, "pipeline")
    assert "Running stage 'register'" in result.stdout
    assert "Running stage 'train'" not in result.stdout  # the trained run is kept
    [version] = client.search_model_versions(f"name = '{model_name}'")
    challenger = client.get_model_version_by_alias(model_name, ml_contract.ALIAS_CHALLENGER)
    assert challenger.version == version.version
