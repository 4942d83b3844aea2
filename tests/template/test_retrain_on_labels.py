"""Retraining on what was learned: labelled served rows become a DVC data version
(`make labelled-data`, or `make retrain` itself as scheduled CI runs it), the next pipeline
trains on it, and the gate compares the challenger with the champion on their latest window as
well as on the test split."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import mlflow.sklearn
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from sklearn.metrics import roc_auc_score

from mlops_platform import contract as ml_contract
from mlops_platform.contract import PlatformOutputs
from mlops_platform.prediction_log import Predictor, label_lines, new_ids, prediction_lines
from tests.template.baking import VENV, bake, make

pytestmark = pytest.mark.slow

# Labelled rows served a day ago, which training appends, and today, the latest window (more
# than the gate's recent_min_rows, 30), which the gate keeps to score both versions on.
OLDER_ROWS, RECENT_ROWS = 40, 35
SERVED_ROWS = OLDER_ROWS + RECENT_ROWS
DAY = 86400
EMPTY_FOLDER_MD5 = "d751713988987e9331980363e24189ce.dir"  # DVC's md5 of an empty folder


@dataclass(frozen=True)
class Project:
    path: Path
    model_name: str
    client: MlflowClient

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True,
                              text=True).stdout

    def commit_all(self, message: str) -> None:
        self.git("add", "--all")
        self.git("-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "--quiet",
                 "--allow-empty", "-m", message)

    def dvc(self, *args: str) -> None:
        subprocess.run([str(VENV / "bin" / "python"), "-m", "dvc", *args], cwd=self.path,
                       check=True, capture_output=True)

    def labelled_version(self) -> str:
        return yaml.safe_load((self.path / "data/labelled.dvc").read_text())["outs"][0]["md5"]

    def read_json(self, relative: str) -> dict:
        return json.loads((self.path / relative).read_text())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_platform: PlatformOutputs,
            shared_platform_outputs_file: Path) -> Project:
    """A level-1 project after its first `make pipeline`: version 1 is the champion."""
    model_name = f"retrain-{uuid.uuid4().hex[:8]}"
    path = bake(tmp_path_factory.mktemp("retrain"), maturity_level="1", model_name=model_name,
                platform_outputs=str(shared_platform_outputs_file))
    make(path, "pipeline")
    found = Project(path, model_name, MlflowClient(shared_platform.tracking_uri))
    found.commit_all("the first pipeline's results")
    return found


def serve_and_label(project: Project) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows served by the champion as batch scoring logs them, a day ago and now, and their
    true labels sent back now; the older and the recent rows with their labels."""
    rows = pd.read_csv(project.path / "data/prepared/train.csv").head(SERVED_ROWS)
    older, recent = rows.head(OLDER_ROWS), rows.tail(RECENT_ROWS)
    monitoring = project.path / "monitoring"
    (monitoring / "labels").mkdir(parents=True, exist_ok=True)
    logged, labels = b"", []
    # A day and a minute ago is in the UTC day before today's, whatever the time now.
    for served, served_at in ((older, time.time() - DAY - 60), (recent, time.time())):
        ids = new_ids(len(served))
        features = served.drop(columns=["target"])
        logged += prediction_lines(features.to_dict("records"), [0] * len(served), ids,
                                   Predictor(project.model_name, "1", "batch"), served_at)
        labels += zip(ids, [int(label) for label in served["target"]], strict=True)
    (monitoring / "predictions.jsonl").write_bytes(logged)
    (monitoring / "labels" / "labels.jsonl").write_bytes(label_lines(labels, time.time()))
    return older, recent


def roc_auc_of(project: Project, version: str, rows: pd.DataFrame) -> float:
    model = mlflow.sklearn.load_model(f"models:/{project.model_name}/{version}")
    return float(roc_auc_score(rows["target"],
                               model.predict_proba(rows.drop(columns=["target"]))[:, 1]))


def test_a_baked_project_trains_on_no_labelled_rows(project: Project) -> None:
    assert project.labelled_version() == EMPTY_FOLDER_MD5
    run = project.client.get_run(project.read_json("models/run.json")["run_id"])
    assert run.data.tags[ml_contract.TAG_LABELLED_DATA] == "none"
    recent = project.read_json("reports/promotion.json")["details"]["recent_window"]
    assert recent["compared_on"] == ("the test split only: no labelled served rows in "
                                     "data/labelled/served.csv (make labelled-data makes them)")


def test_a_retrain_trains_on_the_new_labelled_version_and_the_gate_compares_on_it(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", project.client.tracking_uri)
    trained_before = len(pd.read_csv(project.path / "data/prepared/train.csv"))
    older, recent_rows = serve_and_label(project)

    exported = make(project.path, "labelled-data")

    assert f"wrote {SERVED_ROWS} labelled rows to data/labelled/served.csv" in exported.stdout
    version = project.labelled_version()
    assert version != EMPTY_FOLDER_MD5
    project.commit_all("labelled served rows, a new data version")

    make(project.path, "pipeline")

    # Training appends the older rows; the latest window stays out, for the gate.
    train = pd.read_csv(project.path / "data/prepared/train.csv")
    assert len(train) == trained_before + OLDER_ROWS
    pd.testing.assert_frame_equal(train.tail(OLDER_ROWS).reset_index(drop=True),
                                  older.reset_index(drop=True), check_dtype=False)
    run_id = project.read_json("models/run.json")["run_id"]
    assert project.client.get_run(run_id).data.tags[ml_contract.TAG_LABELLED_DATA] == version
    lineage = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="served.lineage.json")).read_text())
    assert lineage["rows"] == SERVED_ROWS
    decision = project.read_json("reports/promotion.json")
    assert decision["version"] == "2"
    recent = decision["details"]["recent_window"]
    assert (recent["labelled_file"], recent["rows"]) == ("data/labelled/served.csv", RECENT_ROWS)
    for model_version in ("1", "2"):
        assert recent["measured"][model_version] == pytest.approx(
            roc_auc_of(project, model_version, recent_rows))
    [check] = [check for check in decision["details"]["checks"]
               if check["name"] == "recent_window"]
    assert f"on the recent labelled window ({RECENT_ROWS} rows served " in check["reason"]
    assert "champion version 1" in check["reason"]


def test_an_older_data_version_comes_back_with_git_and_dvc_checkout(project: Project) -> None:
    """After the retrain above committed a labelled data version."""
    newest = project.labelled_version()
    assert newest != EMPTY_FOLDER_MD5, "run after the retrain test"
    project.git("checkout", "HEAD~1", "--", "data/labelled.dvc")
    project.dvc("checkout", "--force", "data/labelled")
    assert list((project.path / "data/labelled").iterdir()) == []

    project.git("checkout", "HEAD", "--", "data/labelled.dvc")
    project.dvc("checkout", "--force", "data/labelled")
    assert len(pd.read_csv(project.path / "data/labelled/served.csv")) == SERVED_ROWS


def test_a_scheduled_retrain_makes_the_new_labelled_version_itself(project: Project) -> None:
    """`make retrain`, as CI runs it on a schedule: labels that came back since become the data
    version it trains on, with no `make labelled-data` before it."""
    before = project.labelled_version()
    serve_and_label(project)  # new predictions, new ids, labelled now

    make(project.path, "retrain")

    version = project.labelled_version()
    assert version not in (before, EMPTY_FOLDER_MD5)
    run_id = project.read_json("models/run.json")["run_id"]
    assert project.client.get_run(run_id).data.tags[ml_contract.TAG_LABELLED_DATA] == version

    committed = make(project.path, "commit-retrain")  # the scheduled CI job's next step

    assert committed.stdout.strip().endswith(f"Retrain on data/labelled {version}")
    assert project.git("status", "--porcelain", "--", "data/labelled.dvc", "dvc.lock",
                       "reports", "models") == ""
    changed = project.git("show", "--name-only", "--format=", "HEAD").split()
    assert {"data/labelled.dvc", "dvc.lock", "models/run.json"} <= set(changed)
