"""`make pipeline` of a fresh project, per maturity level, against a running local platform."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from mlops_platform import contract as ml_contract
from mlops_platform.contract import PlatformOutputs
from mlops_platform.onnx_predictor import OnnxPredictor
from mlops_platform.prediction_store import read_lines
from tests.template.baking import DEFAULT_PACKAGE, LEVELS, VENV, bake, make
from tests.template.recovery import Recovery

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _mlflow_client_points_at_the_platform(monkeypatch: pytest.MonkeyPatch,
                                          pipeline_run: PipelineRun) -> None:
    # models:/ and runs:/ URIs resolve through these, never through a local default store.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", pipeline_run.tracking_uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", pipeline_run.tracking_uri)


@dataclass(frozen=True)
class PipelineRun:
    project: Path
    level: str
    model_name: str
    dataset: str
    client: MlflowClient
    tracking_uri: str
    first_run: subprocess.CompletedProcess[str]  # the first `make pipeline` that went through

    def registration(self) -> dict:
        return json.loads((self.project / "reports/registration.json").read_text())

    def run_record(self) -> dict:
        return json.loads((self.project / "models/run.json").read_text())

    def versions(self) -> list:
        return self.client.search_model_versions(f"name = '{self.model_name}'")

    def champion(self) -> str | None:
        aliases = self.client.get_registered_model(self.model_name).aliases
        return aliases.get(ml_contract.ALIAS_CHAMPION)


@pytest.fixture(scope="module", params=[pytest.param(level, id=f"level{level}")
                                        for level in LEVELS])
def pipeline_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 shared_platform: PlatformOutputs, shared_platform_outputs_file: Path,
                 recovery: Recovery) -> PipelineRun:
    level = request.param
    if level == "1":  # the recovery project: level 1, a CSV data set, its own platform
        tracking_uri = recovery.client.tracking_uri
        return PipelineRun(recovery.project, level, recovery.model_name, recovery.dataset,
                           recovery.client, tracking_uri, recovery.rerun)
    model_name = f"pipeline-level{level}-{uuid.uuid4().hex[:8]}"  # a fresh registry entry
    project = bake(tmp_path_factory.mktemp(f"pipeline-{level}"), maturity_level=level,
                   model_name=model_name, platform_outputs=str(shared_platform_outputs_file))
    first_run = make(project, "pipeline")
    return PipelineRun(project, level, model_name, "breast_cancer",
                       MlflowClient(shared_platform.tracking_uri), shared_platform.tracking_uri,
                       first_run)


def test_the_run_carries_its_lineage(pipeline_run: PipelineRun) -> None:
    run = pipeline_run.client.get_run(pipeline_run.run_record()["run_id"])
    tags = run.data.tags
    lock = yaml.safe_load((pipeline_run.project / "dvc.lock").read_text())
    prepared = next(out for out in lock["stages"]["prepare"]["outs"]
                    if out["path"] == "data/prepared")
    assert set(ml_contract.LINEAGE_TAGS) <= set(tags)
    assert tags[ml_contract.TAG_DATA_HASH] == prepared["md5"]
    assert tags[ml_contract.TAG_DATASET] == pipeline_run.dataset
    assert tags[ml_contract.TAG_DATA_VALIDATION] == "passed"
    assert tags[ml_contract.TAG_MATURITY_LEVEL] == pipeline_run.level
    assert len(tags[ml_contract.TAG_GIT_COMMIT]) == 40
    tuned = json.loads((pipeline_run.project / "reports/tuning.json").read_text())["best"]
    assert float(run.data.params["train.C"]) == tuned["C"]
    assert run.data.metrics["roc_auc"] > 0.9


def test_the_model_has_signature_input_example_and_pinned_requirements(
        pipeline_run: PipelineRun, tmp_path: Path) -> None:
    model_dir = Path(mlflow.artifacts.download_artifacts(
        artifact_uri=pipeline_run.run_record()["model_uri"], dst_path=str(tmp_path)))
    mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text())
    assert "inputs" in mlmodel["signature"] and "outputs" in mlmodel["signature"]
    assert mlmodel["saved_input_example_info"]["type"] == "dataframe"
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    requirements = (model_dir / "requirements.txt").read_text().split()
    # Exactly ours, each pinned; MLflow adds itself.
    assert sorted(name.split("==")[0] for name in requirements if "==" in name) == [
        "mlflow", "numpy", "pandas", "scikit-learn", "skops"]


def test_one_version_is_registered_as_challenger_with_run_id_and_data_hash(
        pipeline_run: PipelineRun) -> None:
    [version] = pipeline_run.versions()
    run_id = pipeline_run.run_record()["run_id"]
    assert version.run_id == run_id
    assert version.tags[ml_contract.TAG_RUN_ID] == run_id
    run_tags = pipeline_run.client.get_run(run_id).data.tags
    assert version.tags[ml_contract.TAG_DATA_HASH] == run_tags[ml_contract.TAG_DATA_HASH]
    challenger = pipeline_run.client.get_model_version_by_alias(
        pipeline_run.model_name, ml_contract.ALIAS_CHALLENGER)
    assert challenger.version == version.version
    assert pipeline_run.registration()["version"] == version.version


def test_the_model_card_explains_the_model(pipeline_run: PipelineRun) -> None:
    card = (pipeline_run.project / "reports/model_card.md").read_text()
    for section in ("## Intended use", "## Data", "## Metrics (test set)", "## Explainability",
                    "## Limits"):
        assert section in card
    assert "Permutation importance (scikit-learn)" in card
    assert "| feature | mean absolute contribution |" in card
    assert pipeline_run.run_record()["run_id"] in card
    explained = mlflow.artifacts.load_dict(
        f"runs:/{pipeline_run.run_record()['run_id']}/explainability.json")
    means = [item["mean_abs_contribution"] for item in explained["mean_abs_contribution"]]
    assert means == sorted(means, reverse=True) and means[0] > 0
    logged = mlflow.artifacts.load_text(
        f"runs:/{pipeline_run.run_record()['run_id']}/{ml_contract.MODEL_CARD_ARTIFACT}")
    assert logged == card


def test_the_model_is_exported_to_onnx_checked_and_the_card_says_what_serves(
        pipeline_run: PipelineRun) -> None:
    run_id = pipeline_run.run_record()["run_id"]
    tags = pipeline_run.client.get_run(run_id).data.tags
    assert tags[ml_contract.TAG_SERVING_PATH] == ml_contract.SERVING_PATH_ONNX
    assert "0 labels differ" in tags[ml_contract.TAG_SERVING_PATH_REASON]
    export = mlflow.artifacts.download_artifacts(f"runs:/{run_id}/{ml_contract.ONNX_ARTIFACT}")
    assert OnnxPredictor(export).columns  # a model ONNX Runtime loads, with its inputs
    card = (pipeline_run.project / "reports/model_card.md").read_text()
    assert "## Serving" in card
    assert "Served by ONNX Runtime (the model's ONNX export): the export was checked on" in card


def test_the_champion_moves_only_through_the_gate(pipeline_run: PipelineRun) -> None:
    [version] = pipeline_run.versions()
    if pipeline_run.level == "0":  # manual promotion, through the same gate
        assert pipeline_run.champion() is None
        make(pipeline_run.project, "promote")
    elif pipeline_run.level == "1":  # the promote stage cleared the gate
        decision = json.loads((pipeline_run.project / "reports/promotion.json").read_text())
        assert decision["outcome"] == "promoted"
    else:  # level 2: the gate refuses until someone approves, and the stage says what next
        decision = json.loads((pipeline_run.project / "reports/promotion.json").read_text())
        assert decision["outcome"] == "refused"
        assert any("no approval recorded" in reason for reason in decision["reasons"])
        assert (f"next: version {version.version} waits only for an approval. Someone other than "
                "you and the run's author runs `make approve APPROVER=<name>`, then `make "
                "promote` completes the promotion") in pipeline_run.first_run.stdout
        assert pipeline_run.champion() is None
        approved = make(pipeline_run.project, "approve", "APPROVER=release-manager")
        # The approval is an input of the promote stage: DVC holds the refusal final no more.
        assert "governance/audit.jsonl" in dvc_status(pipeline_run.project, "promote")
        promoted = make(pipeline_run.project, "promote")
        for said in (approved.stdout, promoted.stdout):
            assert f"{ml_contract.AUDIT_LOG_FILE}: commit it with the project" in said
    assert pipeline_run.champion() == version.version
    if pipeline_run.level != "0":  # the committed record says what the registry says
        decision = json.loads((pipeline_run.project / "reports/promotion.json").read_text())
        assert (decision["outcome"], decision["version"]) == ("promoted", version.version)
    audit = (pipeline_run.project / ml_contract.AUDIT_LOG_FILE).read_text().splitlines()
    assert json.loads(audit[-1])["outcome"] == "promoted"


def served_and_labelled(run: PipelineRun, version: str, wrong: int = 0) -> float:
    """The champion's answers on the test split logged as batch scoring logs them, and their
    labels (the first ``wrong`` flipped) sent back; the roc_auc of those answers."""
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from mlops_platform.prediction_log import Predictor, label_lines, new_ids, prediction_lines

    target = yaml.safe_load((run.project / "params.yaml").read_text())["data"]["target"]
    test = pd.read_csv(run.project / "data/prepared/test.csv")
    features = test.drop(columns=[target])
    answers = mlflow.pyfunc.load_model(f"models:/{run.model_name}@champion").predict(features)
    answers = [int(answer) for answer in answers]
    ids = new_ids(len(test))
    truth = [int(label) for label in test[target]]
    truth = [1 - label for label in truth[:wrong]] + truth[wrong:]
    monitoring = run.project / "monitoring"
    (monitoring / "labels").mkdir(parents=True, exist_ok=True)
    (monitoring / "predictions.jsonl").write_bytes(prediction_lines(
        features.to_dict("records"), answers, ids, Predictor(run.model_name, version, "batch"),
        time.time()))
    (monitoring / "labels" / "labels.jsonl").write_bytes(
        label_lines(zip(ids, truth, strict=True), time.time()))
    return float(roc_auc_score(truth, answers))


def test_make_performance_judges_the_champion_on_its_labelled_answers(
        pipeline_run: PipelineRun) -> None:
    """After the test above made a champion: its promoted roc_auc is the baseline."""
    champion = pipeline_run.champion()
    assert champion is not None, "run after test_the_champion_moves_only_through_the_gate"
    promoted = pipeline_run.client.get_run(
        pipeline_run.client.get_model_version(pipeline_run.model_name, champion).run_id
    ).data.metrics["roc_auc"]
    live = served_and_labelled(pipeline_run, champion)
    result = make(pipeline_run.project, "performance")
    assert f"\nhealthy: roc_auc {live:.4f} on " in result.stdout  # after make echoes the command
    summary = json.loads(
        (pipeline_run.project / "monitoring/performance/performance_report.json").read_text())
    assert (summary["baseline"], summary["window"]["model_version"]) == (promoted, champion)
    assert summary["value"] == pytest.approx(live)
    served_and_labelled(pipeline_run, champion, wrong=20)  # a shifted segment, mislabelled
    degraded = subprocess.run(
        [str(VENV / "bin" / "python"), "-m", f"{DEFAULT_PACKAGE}.performance"],
        cwd=pipeline_run.project, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(pipeline_run.project / "src")})
    assert degraded.returncode == 1, degraded.stderr
    assert degraded.stdout.startswith("DEGRADED: roc_auc ")


def dvc_status(project: Path, stage: str) -> str:
    return subprocess.run([str(VENV / "bin" / "python"), "-m", "dvc", "status", stage],
                          cwd=project, check=True, capture_output=True, text=True).stdout


def test_the_project_meets_the_governance_of_its_level(pipeline_run: PipelineRun) -> None:
    result = make(pipeline_run.project, "check")
    assert f"meets level {pipeline_run.level}" in result.stdout


def test_a_second_pipeline_is_a_no_op_that_registers_nothing(pipeline_run: PipelineRun) -> None:
    """Also after `make promote` (level 2 above): it recorded its decision in dvc.lock."""
    before = pipeline_run.versions()
    result = make(pipeline_run.project, "pipeline")
    assert "Data and pipelines are up to date." in result.stdout
    assert "Running stage" not in result.stdout
    assert len(pipeline_run.versions()) == len(before) == 1


def test_make_score_scores_a_table_with_the_champion_and_logs_it_for_labels(
        pipeline_run: PipelineRun) -> None:
    """After the champion moved through the gate (above): the test split, target included
    (not an input of the contract: dropped), scored and logged with ids."""
    project = pipeline_run.project
    make(project, "score", "INPUT=data/prepared/test.csv")
    scored = pd.read_csv(project / "monitoring" / "scored.csv", dtype={"prediction_id": str})
    test_rows = pd.read_csv(project / "data" / "prepared" / "test.csv")
    assert len(scored) == len(test_rows) and scored["prediction_id"].is_unique
    logged = read_lines(str(project / "monitoring"))  # earlier tests' served rows included
    mine = logged[logged["serving_path"] == "batch"]
    assert mine["prediction_id"].tolist()[-len(scored):] == scored["prediction_id"].tolist()
    assert set(mine["model_version"]) == {pipeline_run.champion()}
    refused = make(project, "score", check=False)
    assert refused.returncode != 0
    assert "make score INPUT=rows.csv" in refused.stderr
