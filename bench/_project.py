"""The template's default project, baked and trained, its champion in a local platform's registry.

A plain ``cookiecutter <repo>`` with the template's defaults (breast cancer, level 0), pointed
at an embedded local platform started here; its own ``make pipeline`` trains and registers a
version and its own ``make promote`` makes it champion through the gate. The make targets run
in this environment (``VENV=`` the bench's), as ``make demo`` runs them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cookiecutter.main import cookiecutter

from mlops_platform import contract as ml_contract
from mlops_platform.client.project import Project
from mlops_platform.local_platform import platform, state
from mlops_platform.local_platform.settings import LocalPlatformSettings

REPO_ROOT = Path(__file__).resolve().parents[1]
MAKE_TIMEOUT_S = 900


@dataclass(frozen=True)
class TrainedProject:
    folder: Path
    tracking_uri: str
    model_name: str
    version: str

    @property
    def version_uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"

    def rows(self, count: int) -> list[dict]:
        """Held-out rows without their label, as a client sends them."""
        import pandas as pd

        target = Project.open(self.folder).param("data.target")
        test = pd.read_csv(self.folder / "data" / "prepared" / "test.csv")
        return test.drop(columns=[target]).head(count).to_dict(orient="records")


@contextlib.contextmanager
def trained_default_project(work_dir: Path) -> Iterator[TrainedProject]:
    """Bake, train and promote; the platform stops when the block ends."""
    state_dir = work_dir / "platform"
    outputs = platform.up(LocalPlatformSettings(state_dir=state_dir, port=0)).outputs
    try:
        folder = Path(cookiecutter(
            str(REPO_ROOT), no_input=True, output_dir=str(work_dir),
            extra_context={"platform_outputs": str(state.outputs_path(state_dir))}))
        for target in ("pipeline", "promote"):
            _make(folder, target)
        name = Project.open(folder).param(ml_contract.PARAM_MODEL_NAME)
        yield TrainedProject(folder, outputs.tracking_uri, name,
                             _champion_version(outputs.tracking_uri, name))
    finally:
        platform.down(state_dir)


def _make(folder: Path, target: str) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", target, f"VENV={sys.prefix}"], cwd=folder,
        capture_output=True, text=True, timeout=MAKE_TIMEOUT_S,
        env={**os.environ, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"})
    if result.returncode != 0:
        raise SystemExit(f"make {target} failed in {folder}:\n{result.stdout[-3000:]}\n"
                         f"{result.stderr[-3000:]}")


def _champion_version(tracking_uri: str, name: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    return client.get_model_version_by_alias(name, ml_contract.ALIAS_CHAMPION).version
