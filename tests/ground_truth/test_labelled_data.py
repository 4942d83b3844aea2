"""Labelled served rows become training data with their lineage; what cannot join is counted."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlops_platform.ground_truth import join_labels
from mlops_platform.labelled_data import (
    LabelledDataError,
    lineage_file,
    main,
    recent_window,
    rows_to_train_on,
)
from mlops_platform.prediction_log import Predictor, label_lines, prediction_lines

CONTRACT = {"target": "bought", "columns": [
    {"name": "x", "dtype": "float", "nullable": False, "min": 0.0, "max": 10.0},
    {"name": "bought", "dtype": "int", "nullable": False, "allowed": [0, 1]}]}
DAY = 86400.0


def write_log(folder: Path) -> None:
    """Four predictions of version 3 served at t=0, one of version 4 at t=DAY."""
    folder.mkdir(parents=True)
    lines = prediction_lines([{"x": 1.0}, {"x": 2.0}, {"x": 3.0}, {"x": 4.0}], [0, 0, 1, 1],
                             ["a", "b", "c", "d"], Predictor("churn", "3", "mlflow"), 0.0)
    lines += prediction_lines([{"x": 5.0}], [1], ["e"], Predictor("churn", "4", "onnx"), DAY)
    (folder / "predictions.jsonl").write_bytes(lines)


def write_labels(folder: Path) -> None:
    folder.mkdir(parents=True)
    lines = (label_lines([("a", 1), ("b", 0), ("c", 7), ("z", 1), ("e", 1)], 2 * DAY)
             + label_lines([("b", 1)], 3 * DAY)  # b again, later: the first label counts
             + label_lines([("d", 0)], 40 * DAY))  # 40 days after it was served: late
    (folder / "labels.jsonl").write_bytes(lines)


def run(tmp_path: Path) -> tuple[int, Path]:
    write_log(tmp_path / "monitoring")
    write_labels(tmp_path / "monitoring" / "labels")
    (tmp_path / "data_contract.yaml").write_text(yaml.safe_dump(CONTRACT))
    output = tmp_path / "data" / "labelled" / "served.csv"
    code = main(["--predictions", str(tmp_path / "monitoring"), "--labels",
                 str(tmp_path / "monitoring" / "labels"), "--contract",
                 str(tmp_path / "data_contract.yaml"), "--output", str(output)])
    return code, output


def test_each_prediction_joins_its_first_label_and_the_rest_is_counted() -> None:
    predictions = pd.DataFrame({"prediction_id": ["a", "b", "c"], "served_at": [0.0, 0.0, 0.0]})
    labels = pd.DataFrame({"prediction_id": ["b", "a", "b", "z", "c"], "label": [0, 1, 1, 1, 1],
                           "labelled_at": [2.0, 1.0, 3.0, 1.0, 31 * DAY]})
    joined = join_labels(predictions, labels)
    assert joined.rows[["prediction_id", "label"]].values.tolist() == [["a", 1], ["b", 0]]
    assert (joined.unknown, joined.duplicates, joined.late) == (1, 1, 1)


def test_labelled_rows_become_contract_columns_with_their_lineage(tmp_path: Path, capsys) -> None:
    code, output = run(tmp_path)
    assert code == 0
    assert pd.read_csv(output).values.tolist() == [[1.0, 1], [2.0, 0], [5.0, 1]]
    lineage = json.loads((output.parent / "served.lineage.json").read_text())
    assert lineage["prediction_ids"] == ["a", "b", "e"]
    assert lineage["served_at"] == [0.0, 0.0, DAY]
    assert lineage["model_versions"] == {"churn": ["3", "4"]}
    assert (lineage["served_from"], lineage["served_to"], lineage["labelled_to"]) == (
        0.0, DAY, 2 * DAY)
    assert lineage["left_out"] == {"unknown-id": 1, "duplicate": 1, "late": 1,
                                   "out-of-contract": 1}
    assert "wrote 3 labelled rows" in capsys.readouterr().out


def export_without_labels(tmp_path: Path, *flags: str, labels: str = "") -> tuple[int, Path]:
    write_log(tmp_path / "monitoring")
    (tmp_path / "data_contract.yaml").write_text(yaml.safe_dump(CONTRACT))
    output = tmp_path / "out" / "served.csv"
    code = main(["--predictions", str(tmp_path / "monitoring"), "--labels",
                 labels or str(tmp_path / "no-labels"), "--contract",
                 str(tmp_path / "data_contract.yaml"), "--output", str(output), *flags])
    return code, output


def test_no_labelled_row_is_exit_1_and_writes_nothing(tmp_path: Path, capsys) -> None:
    code, output = export_without_labels(tmp_path)
    assert code == 1 and not output.parent.exists()
    assert "no labelled row keeps the contract" in capsys.readouterr().err


def test_with_if_any_no_labelled_row_is_no_failure_and_writes_nothing(tmp_path: Path,
                                                                       capsys) -> None:
    code, output = export_without_labels(tmp_path, "--if-any")
    assert code == 0 and not output.parent.exists()
    assert f"no new labelled rows: {output} stays as it is" in capsys.readouterr().out


def test_an_unreadable_store_is_exit_2_even_with_if_any(tmp_path: Path, capsys) -> None:
    code, output = export_without_labels(tmp_path, "--if-any", labels="s3:///labels/")
    assert code == 2 and not output.parent.exists()
    assert "names no bucket" in capsys.readouterr().err


def test_the_recent_window_is_the_latest_one_with_enough_rows(tmp_path: Path) -> None:
    _, output = run(tmp_path)  # rows a, b served on day 0; e on day 1
    latest = recent_window(output, int(DAY), min_rows=1)
    assert (latest.rows.values.tolist(), latest.start, latest.end) == ([[5.0, 1]], DAY, 2 * DAY)
    fuller = recent_window(output, int(DAY), min_rows=2)
    assert (fuller.rows.values.tolist(), fuller.start) == ([[1.0, 1], [2.0, 0]], 0.0)
    assert recent_window(output, int(DAY), min_rows=3) == (
        f"no window of {int(DAY)} s holds 3 of the 3 labelled rows (the most in one is 2)")


def test_training_gets_every_row_but_the_recent_windows(tmp_path: Path) -> None:
    _, output = run(tmp_path)  # rows a, b served on day 0; e on day 1
    assert rows_to_train_on(output, int(DAY), min_rows=1).values.tolist() == [[1.0, 1], [2.0, 0]]
    assert rows_to_train_on(output, int(DAY), min_rows=2).values.tolist() == [[5.0, 1]]
    # No window the gate would compare on: every row is trained on.
    assert len(rows_to_train_on(output, int(DAY), min_rows=3)) == 3


def test_a_lineage_without_each_rows_time_is_refused_with_the_fix(tmp_path: Path) -> None:
    _, output = run(tmp_path)
    lineage = json.loads(lineage_file(output).read_text())
    lineage_file(output).write_text(json.dumps({**lineage, "served_at": [0.0]}))
    with pytest.raises(LabelledDataError, match=r"gives 1 times for the 3 rows .* rebuild both"):
        recent_window(output, int(DAY), 1)
