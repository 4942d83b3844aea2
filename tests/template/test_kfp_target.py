"""`make kfp`, `make kfp-check` and `make kfp-run` of a level-1 project: the KFP SDK's local run
of the compiled pipeline registers the same version the DVC pipeline does for the same data.

Two bakes with the same options, the same model name and the same data: one runs `make
pipeline` against the shared platform, the other `make kfp-run` against a platform of its own,
so both register version 1 of one name with identical parameters (the parameters hash covers
model.name: another name would make it differ).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from mlops_platform import contract as ml_contract
from mlops_platform.contract import PlatformOutputs
from mlops_platform.kfp_pipeline import PIPELINE_FILE
from tests.support.servers import running_local_platform
from tests.template.baking import bake, make

STAGES = ["prepare", "validate", "tune", "train", "evaluate", "register", "promote"]


@dataclass(frozen=True)
class Registered:
    project: Path
    tracking_uri: str
    model_name: str

    def version(self, number: str = "1"):
        return MlflowClient(self.tracking_uri).get_model_version(self.model_name, number)

    def run(self):
        return MlflowClient(self.tracking_uri).get_run(self.version().run_id)

    def predictions(self, rows: pd.DataFrame) -> list:
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        model = mlflow.pyfunc.load_model(f"models:/{self.model_name}/1")
        return list(model.predict(rows))


@dataclass(frozen=True)
class Runs:
    dvc: Registered
    kfp: Registered
    below: dict  # `make kfp-run THRESHOLD=1.01`: the condition false
    above: dict  # `make kfp-run`: params.yaml's threshold, the condition true
    promotion_after_below: bool  # whether reports/promotion.json existed after the first


def summary(result: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, shared_platform: PlatformOutputs,
         shared_platform_outputs_file: Path) -> Iterator[Runs]:
    model_name = f"kfp-{uuid.uuid4().hex[:8]}"  # new on the shared platform: version 1
    root = tmp_path_factory.mktemp("kfp")
    dvc_project = bake(root / "dvc", maturity_level="1", model_name=model_name,
                       platform_outputs=str(shared_platform_outputs_file))
    make(dvc_project, "pipeline")
    with running_local_platform(root / "own-platform") as own:
        kfp_project = bake(root / "kfp", maturity_level="1", model_name=model_name,
                           platform_outputs=str(root / "own-platform" / "outputs.json"))
        below = summary(make(kfp_project, "kfp-run", "THRESHOLD=1.01", timeout=600))
        promoted_early = (kfp_project / "reports/promotion.json").exists()
        above = summary(make(kfp_project, "kfp-run", timeout=600))
        yield Runs(Registered(dvc_project, shared_platform.tracking_uri, model_name),
                   Registered(kfp_project, own.tracking_uri, model_name), below, above,
                   promoted_early)


def test_the_kfp_run_registers_the_version_the_dvc_pipeline_registers(runs: Runs) -> None:
    dvc, kfp = runs.dvc.version(), runs.kfp.version()
    for tag in (ml_contract.TAG_DATA_HASH, ml_contract.TAG_PARAMS_HASH, ml_contract.TAG_DATASET,
                ml_contract.TAG_DATA_VALIDATION, ml_contract.TAG_LABELLED_DATA):
        assert kfp.tags[tag] == dvc.tags[tag], tag
    assert kfp.run_id != dvc.run_id  # two runs, one result
    assert runs.kfp.run().data.metrics == runs.dvc.run().data.metrics
    assert runs.kfp.run().data.params == runs.dvc.run().data.params
    for project in (runs.dvc.project, runs.kfp.project):
        assert json.loads((project / "reports/registration.json").read_text())["version"] == "1"
    assert (runs.kfp.project / "reports/metrics.json").read_text() == (
        runs.dvc.project / "reports/metrics.json").read_text()


def test_both_versions_predict_the_same(runs: Runs) -> None:
    test = pd.read_csv(runs.dvc.project / "data/prepared/test.csv").drop(columns=["target"])
    assert runs.kfp.predictions(test) == runs.dvc.predictions(test)


def test_dvc_recorded_every_stage_the_kfp_tasks_ran(runs: Runs) -> None:
    def lock(project: Path) -> dict:
        return yaml.safe_load((project / "dvc.lock").read_text())["stages"]

    kfp, dvc = lock(runs.kfp.project), lock(runs.dvc.project)
    assert list(kfp) == list(dvc) == STAGES
    assert kfp["prepare"]["outs"] == dvc["prepare"]["outs"]  # the same data, by DVC's md5


def test_below_the_threshold_promote_did_not_run(runs: Runs) -> None:
    assert runs.below["threshold"] == 1.01
    assert runs.below["ran"] == STAGES[:-1] and runs.below["skipped"] == ["promote"]
    assert not runs.promotion_after_below


def test_at_the_threshold_of_params_promote_ran_and_decided_as_the_dvc_pipeline(
        runs: Runs) -> None:
    assert runs.above["threshold"] == 0.9 and runs.above["value"] >= 0.9
    assert runs.above["ran"] == STAGES and runs.above["skipped"] == []
    decided = [json.loads((project / "reports/promotion.json").read_text())
               for project in (runs.kfp.project, runs.dvc.project)]
    assert decided[0]["outcome"] == decided[1]["outcome"]
    assert decided[0]["version"] == decided[1]["version"] == "1"


def test_the_committed_pipeline_has_one_component_per_stage_and_the_condition(
        runs: Runs) -> None:
    spec = yaml.safe_load((runs.kfp.project / PIPELINE_FILE).read_text())
    assert set(spec["components"]) == {f"comp-{stage}" for stage in STAGES} | {
        "comp-condition-1"}
    assert set(spec["components"]["comp-condition-1"]["dag"]["tasks"]) == {"promote"}
    condition = spec["root"]["dag"]["tasks"]["condition-1"]["triggerPolicy"]["condition"]
    assert condition == ("inputs.parameter_values['pipelinechannel--evaluate-Output'] >= "
                         "inputs.parameter_values['pipelinechannel--threshold']")


def test_kfp_check_passes_on_the_bake_and_fails_on_a_stale_pipeline(tmp_path: Path) -> None:
    project = bake(tmp_path, maturity_level="1")
    make(project, "kfp-check")
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("threshold: 0.9", "threshold: 0.95"))
    stale = make(project, "kfp-check", check=False)
    assert stale.returncode != 0
    assert ("kfp/pipeline.yaml is not the compiled pipeline of this dvc.yaml and params.yaml: "
            "run make kfp and commit it") in stale.stderr
    assert "+#    threshold: float [Default: 0.95]" in stale.stdout  # the diff: what moved
