"""The recovery scenario: a level-1 project on a CSV data set whose tracking server is
killed between training and registration, then comes back on the same state directory.

Its project is also the level-1 project of the pipeline tests (one full pipeline fewer).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer

import mlops_platform.local_platform as local_platform
from mlops_platform.contract import PlatformOutputs
from tests.template.baking import VENV, bake, make

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

    @property
    def dataset(self) -> str:
        return self.raw_csv.name

    def run_count(self) -> int:
        experiment = self.client.get_experiment_by_name(EXPERIMENT)
        return len(self.client.search_runs([experiment.experiment_id])) if experiment else 0

    def versions(self) -> list[str]:
        return sorted(v.version for v in self.client.search_model_versions(
            f"name = '{self.model_name}'"))

    def aliases(self) -> dict[str, str]:
        return dict(self.client.get_registered_model(self.model_name).aliases)


def start_platform(state_dir: Path) -> PlatformOutputs:
    settings = local_platform.LocalPlatformSettings(state_dir=state_dir, port=0)  # any free one
    return local_platform.up(settings).outputs


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


def run_recovery(base: Path) -> Iterator[Recovery]:
    """Yields the recovered project while its platform runs; stops the platform after."""
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


