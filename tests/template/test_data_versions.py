"""What `make pipeline-sample` and `make pipeline` record: a pull request's sample run leaves the
project and the registry as they were; a failed stage leaves the committed records in place; a
raw-data version is recorded (in its .dvc file, dvc.lock and the DVC cache) only once it validates.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer

from mlops_platform.contract import PlatformOutputs
from tests.template.baking import VENV, bake, make

pytestmark = pytest.mark.slow

RAW = "data/raw/tumours.csv"
RESTORE_HINT = f"dvc checkout --force {RAW}"


@dataclass(frozen=True)
class Project:
    path: Path
    model_name: str
    client: MlflowClient

    def read(self, relative: str) -> bytes:
        return (self.path / relative).read_bytes()

    def versions(self) -> list[str]:
        return sorted(v.version for v in self.client.search_model_versions(
            f"name = '{self.model_name}'"))

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True,
                              text=True).stdout

    def commit_all(self) -> None:
        """What the user does after a run: commit dvc.lock and the records."""
        self.git("add", "--all")
        self.git("-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "--quiet",
                 "--allow-empty", "-m", "the pipeline's results")

    def changes(self) -> list[str]:
        return self.git("status", "--porcelain").splitlines()

    def cache(self) -> set[str]:
        cache = self.path / ".dvc" / "cache"
        return {str(path.relative_to(cache)) for path in cache.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_platform: PlatformOutputs,
            shared_platform_outputs_file: Path) -> Project:
    """A level-1 project on a CSV data set, after its first full `make pipeline`."""
    base = tmp_path_factory.mktemp("data-versions")
    load_breast_cancer(as_frame=True).frame.to_csv(base / "tumours.csv", index=False)
    model_name = f"data-versions-{uuid.uuid4().hex[:8]}"
    path = bake(base / "out", maturity_level="1", dataset=str(base / "tumours.csv"),
                model_name=model_name, platform_outputs=str(shared_platform_outputs_file))
    make(path, "pipeline")
    return Project(path, model_name, MlflowClient(shared_platform.tracking_uri))


def test_a_sample_run_and_its_comparison_change_no_tracked_file(project: Project) -> None:
    project.commit_all()
    versions = project.versions()
    assert versions, "the first make pipeline registers a version"

    make(project.path, "pipeline-sample")
    make(project.path, "metrics-diff")

    assert project.changes() == []
    assert project.versions() == versions
    # What the pull request's comment compares with the champion comes out of the sample run.
    assert "roc_auc" in json.loads(project.read("reports/sample/metrics.json"))
    assert "| **roc_auc** |" in project.read("reports/sample/metrics_diff.md").decode()


def test_a_failed_stage_leaves_the_committed_records_in_place(project: Project) -> None:
    project.commit_all()
    params = project.path / "params.yaml"
    good = params.read_text()
    params.write_text(good.replace("folds: 3", "folds: 1"))  # tune refuses it
    try:
        failed = make(project.path, "pipeline", check=False)

        assert failed.returncode != 0
        assert "error: tune stopped: params.yaml" in failed.stderr
        assert project.changes() == [" M params.yaml"]  # tuning.json and the rest stay
    finally:
        params.write_text(good)


def test_raw_data_that_fails_validation_is_not_recorded(project: Project) -> None:
    project.commit_all()
    record, good = project.read(f"{RAW}.dvc"), project.read(RAW)
    lock, cache = project.read("dvc.lock"), project.cache()
    frame = pd.read_csv(project.path / RAW)
    frame["target"] = "unknown"  # outside the contract's allowed set
    frame.to_csv(project.path / RAW, index=False)

    failed = make(project.path, "pipeline", check=False)

    assert failed.returncode != 0
    assert (f"error: prepare stopped: {RAW} breaks the data contract (data_contract.yaml): "
            "column 'target': values outside the allowed set") in failed.stderr
    assert RESTORE_HINT in failed.stderr
    assert project.read(f"{RAW}.dvc") == record
    # Neither the bad data nor its split reached dvc.lock or the cache; git sees no change.
    assert project.read("dvc.lock") == lock
    assert project.cache() == cache
    assert project.changes() == []
    make(project.path, "pipeline", check=False)  # a second try records nothing either
    assert project.read(f"{RAW}.dvc") == record

    make_restore(project)
    assert project.read(RAW) == good


def test_an_empty_raw_file_stops_with_one_line_and_is_not_recorded(project: Project) -> None:
    record = project.read(f"{RAW}.dvc")
    (project.path / RAW).write_text("")

    failed = make(project.path, "pipeline", check=False)

    assert failed.returncode != 0
    assert f"error: prepare stopped: {RAW} holds no data" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert RESTORE_HINT in failed.stderr
    assert project.read(f"{RAW}.dvc") == record
    make_restore(project)


def test_raw_data_that_validates_becomes_the_new_version(project: Project) -> None:
    record, versions = project.read(f"{RAW}.dvc"), project.versions()
    frame = pd.read_csv(project.path / RAW)
    frame.head(len(frame) - 40).to_csv(project.path / RAW, index=False)

    make(project.path, "pipeline")

    assert project.read(f"{RAW}.dvc") != record
    assert len(project.versions()) == len(versions) + 1


def make_restore(project: Project) -> None:
    """The restore command the error names, run as the user would."""
    subprocess.run([str(VENV / "bin" / "python"), "-m", *shlex.split(RESTORE_HINT)],
                   cwd=project.path, check=True, capture_output=True)
