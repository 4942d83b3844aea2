"""A baked project's `make labels`: labels of rows its server logged, into monitoring/labels/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlops_platform.prediction_log import Predictor, prediction_lines
from mlops_platform.prediction_store import read_labels
from tests.template.baking import DEFAULT_PACKAGE, bake, make

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default project whose `make serve` logged two rows (the log as the server writes it)."""
    project = bake(tmp_path_factory.mktemp("labels"))
    (project / "monitoring").mkdir()
    (project / "monitoring" / "predictions.jsonl").write_bytes(prediction_lines(
        [{"mean radius": 14.0}, {"mean radius": 15.0}], [1, 0], ["id-1", "id-2"],
        Predictor(DEFAULT_PACKAGE, "1", "onnx"), time.time()))
    return project


def test_labels_are_checked_against_the_log_and_the_contract_and_only_good_ones_stored(
        project: Path) -> None:
    (project / "labels.csv").write_text("prediction_id,label\nid-1,1\nid-9,0\nid-2,2\n")
    result = make(project, "labels", "FILE=labels.csv", check=False)
    assert "labels] Error 1" in result.stderr  # mlops-labels' 1: some refused, the rest stored
    assert "accepted: 1, written to monitoring/labels/labels.jsonl" in result.stdout
    assert "line 3, prediction_id 'id-9': unknown-id" in result.stdout
    assert ("line 4, prediction_id 'id-2': out-of-contract: target 'target': 2 is not one of "
            "0, 1") in result.stdout
    stored = read_labels(str(project / "monitoring" / "labels"))
    assert stored[["prediction_id", "label"]].values.tolist() == [["id-1", 1]]


def test_labels_without_a_file_says_how_to_name_it(project: Path) -> None:
    result = make(project, "labels", check=False)
    assert result.returncode != 0
    assert "make labels FILE=labels.csv (columns prediction_id,label)" in result.stderr
