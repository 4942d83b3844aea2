"""A baked project's `make ab-report`: the plan in ab_test.yaml decided on monitoring/, or on
the platform's artifact store (`CURRENT=store`, what the scheduled CI job runs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mlops_platform.ab_test import JSON_REPORT
from mlops_platform.contract import read_outputs
from mlops_platform.prediction_log import (
    CHALLENGER_ARM,
    CHAMPION_ARM,
    labels_prefix,
    served_prefix,
)
from tests.ab_test.test_ab_test import SMALL_PLAN, write_test
from tests.template.baking import bake, make

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default project whose two arms logged and got labels (as the servers write them)."""
    project = bake(tmp_path_factory.mktemp("ab-report"))
    write_test(project / "monitoring", {CHAMPION_ARM: (40, 24), CHALLENGER_ARM: (40, 39)})
    (project / "ab_test.yaml").write_text(yaml.safe_dump(SMALL_PLAN))
    return project


def decision(project: Path) -> str:
    return json.loads((project / "monitoring" / "ab_test" / JSON_REPORT).read_text())["decision"]


def test_ab_report_decides_the_plan_and_writes_its_reports(project: Path) -> None:
    result = make(project, "ab-report")
    assert "\nBETTER: the challenger's gain is above 0" in result.stdout
    summary = json.loads((project / "monitoring" / "ab_test" / JSON_REPORT).read_text())
    assert summary["planned_sample_size"] == {CHAMPION_ARM: 24, CHALLENGER_ARM: 24}


def test_ab_report_reads_the_store_with_current_store(project: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The arms' rows where the log shipper puts them in a file:// store of its own."""
    store = tmp_path / "store"
    outputs = read_outputs(project / "platform_outputs.json")
    outputs_file = tmp_path / "platform_outputs.json"
    outputs_file.write_text(outputs.to_json().replace(outputs.artifact_store_uri,
                                                      store.as_uri()))
    monkeypatch.setenv("PLATFORM_OUTPUTS", str(outputs_file))
    model = yaml.safe_load((project / "params.yaml").read_text())["model"]["name"]
    write_test(tmp_path / "written", {CHAMPION_ARM: (40, 36), CHALLENGER_ARM: (40, 20)})
    served, labels = store / served_prefix(model), store / labels_prefix(model)
    served.mkdir(parents=True)
    labels.mkdir(parents=True)
    shutil.copy(tmp_path / "written" / "predictions.jsonl", served / "pod-1.jsonl")
    shutil.copy(tmp_path / "written" / "labels" / "labels.jsonl", labels / "0.jsonl")
    result = make(project, "ab-report", "CURRENT=store", check=False)
    assert "ab-report] Error 1" in result.stderr  # worse: stop the challenger
    assert decision(project) == "worse"


def test_ab_report_without_a_plan_says_to_write_one(project: Path) -> None:
    result = make(project, "ab-report", "PLAN=no_plan.yaml", check=False)
    assert "ab-report] Error 2" in result.stderr
    assert "mlops-ab-report: cannot read the plan no_plan.yaml" in result.stderr
