"""The pipeline stops cleanly: without a tracking server, and on data that breaks its contract.

One level-1 project on a CSV data set and its own local platform serve both: the
server is killed between training and registration, comes back on the same state
directory, the pipeline completes; then the data set is corrupted.
"""

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
class Recovery:
    project: Path
    model_name: str
    clean: pd.DataFrame
    down_outputs: PlatformOutputs
    failed_while_down: subprocess.CompletedProcess[str]
    versions_while_down: list
    rerun: subprocess.CompletedProcess[str]
    client: MlflowClient

    @property
    def raw_csv(self) -> Path:
        return self.project / "data/raw/tumours.csv"

    def run_count(self) -> int:
        experiment = self.client.get_experiment_by_name(EXPERIMENT)
        return len(self.client.search_runs([experiment.experiment_id])) if experiment else 0

    def versions(self) -> list[str]:
        return sorted(v.version for v in self.client.search_model_versions(
            f"name = '{self.model_name}'"))

    def aliases(self) -> dict[str, str]:
        return dict(self.client.get_registered_model(self.model_name).aliases)


def start_platform(state_dir: Path) -> PlatformOutputs:
    return local_platform.up(local_platform.LocalPlatformSettings(state_dir=state_dir)).outputs


def back_on_the_same_state(state_dir: Path, project: Path) -> PlatformOutputs:
    """Restart on the same runs and registry; its new address goes where the project reads it.

    A new port, because the old one stays in TIME_WAIT for a while after the server stops.
    """
    outputs = start_platform(state_dir)
    outputs.write(project / "platform_outputs.json")
    return outputs


def repro(project: Path, stage: str) -> None:
    """`dvc repro <stage>` in the project's environment, as the Makefile sets it up."""
    env = {**os.environ, "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}",
           "PYTHONPATH": str(project / "src")}
    subprocess.run([str(VENV / "bin" / "python"), "-m", "dvc", "repro", stage], cwd=project,
                   env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def recovery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recovery]:
    base = tmp_path_factory.mktemp("recovery")
    state_dir = base / "platform"
    clean = load_breast_cancer(as_frame=True).frame
    clean.to_csv(base / "tumours.csv", index=False)
    model_name = f"recovery-{uuid.uuid4().hex[:8]}"
    try:
        down_outputs = start_platform(state_dir)
        project = bake(base / "out", maturity_level="1", dataset=str(base / "tumours.csv"),
                       model_name=model_name, platform_outputs=str(state_dir / "outputs.json"))
        repro(project, "evaluate")
        local_platform.down(state_dir)  # killed between training and registration
        failed = make(project, "pipeline", check=False)
        client = MlflowClient(back_on_the_same_state(state_dir, project).tracking_uri)
        versions_while_down = client.search_model_versions(f"name = '{model_name}'")
        rerun = make(project, "pipeline")
        yield Recovery(project, model_name, clean, down_outputs, failed, versions_while_down,
                       rerun, client)
    finally:
        local_platform.down(state_dir)


def test_a_killed_server_stops_the_pipeline_saying_where_it_looked(recovery: Recovery) -> None:
    result = recovery.failed_while_down
    assert result.returncode != 0
    assert ("error: register stopped: the tracking server is unreachable at "
            f"{recovery.down_outputs.tracking_uri}") in result.stderr
    assert "the address comes from platform_outputs.json" in result.stderr
    assert recovery.versions_while_down == []  # nothing registered


def test_once_the_server_is_back_the_pipeline_registers_exactly_once(recovery: Recovery) -> None:
    assert "Running stage 'register'" in recovery.rerun.stdout
    assert "Running stage 'train'" not in recovery.rerun.stdout  # the trained run is kept
    assert recovery.versions() == ["1"]
    assert recovery.aliases() == {ml_contract.ALIAS_CHALLENGER: "1",
                                  ml_contract.ALIAS_CHAMPION: "1"}  # level 1: the gate promoted


def corrupted(frame: pd.DataFrame) -> pd.DataFrame:
    """Nulls in one column, out-of-range values in another, a third column gone."""
    broken = frame.drop(columns=["mean area"])
    broken.loc[broken.index[:5], "mean radius"] = None
    broken.loc[broken.index[:3], "mean texture"] = -5.0
    return broken


def test_corrupted_data_stops_at_validate_naming_each_column(recovery: Recovery) -> None:
    runs, versions, aliases = recovery.run_count(), recovery.versions(), recovery.aliases()
    corrupted(recovery.clean).to_csv(recovery.raw_csv, index=False)
    result = make(recovery.project, "pipeline", check=False)
    assert result.returncode != 0
    assert "error: validate stopped" in result.stderr
    # Validation is lazy: one run names every broken column.
    for problem in ("column 'mean radius': has nulls",
                    "column 'mean texture': values out of range",
                    "column 'mean area': missing"):
        assert problem in result.stderr
    assert "Running stage 'train'" not in result.stdout
    assert recovery.run_count() == runs  # nothing trained
    assert recovery.versions() == versions  # nothing registered
    assert recovery.aliases() == aliases  # champion and challenger unchanged
