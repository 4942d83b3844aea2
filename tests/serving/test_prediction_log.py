"""The prediction log's one format: what a line holds, and the names it reserves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_platform import prediction_log
from mlops_platform.prediction_log import (
    ENTITY_KEY,
    LABEL,
    LABELLED_AT,
    PREDICTION,
    PREDICTION_ID,
    RECORD_FIELDS,
    SERVED_AT,
    Predictor,
    input_columns,
    label_lines,
    model_of_served,
    new_ids,
    prediction_lines,
    reserved_names,
    served_prefix,
)

PREDICTOR = Predictor("churn", "3", "onnx", entity_key_column="customer")


def lines_of(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


def test_each_row_is_one_line_with_its_id_prediction_and_predictor() -> None:
    rows = [{"customer": "c1", "x": 0.1}, {"customer": "c2", "x": 0.25}]
    lines = lines_of(prediction_lines(rows, [1, 0], ["a", "b"], PREDICTOR, 1700000000.5))
    assert lines == [
        {"customer": "c1", "x": 0.1, PREDICTION_ID: "a", PREDICTION: 1, "model_name": "churn",
         "model_version": "3", "serving_path": "onnx", SERVED_AT: 1700000000.5,
         ENTITY_KEY: "c1"},
        {"customer": "c2", "x": 0.25, PREDICTION_ID: "b", PREDICTION: 0, "model_name": "churn",
         "model_version": "3", "serving_path": "onnx", SERVED_AT: 1700000000.5,
         ENTITY_KEY: "c2"},
    ]


def test_predictions_that_do_not_match_the_rows_are_left_out_not_misaligned() -> None:
    lines = lines_of(prediction_lines([{"x": 1}, {"x": 2}], [1], ["a", "b"],
                                      Predictor("m", "1", "mlflow"), 1.0))
    assert [PREDICTION in line for line in lines] == [False, False]
    assert [ENTITY_KEY in line for line in lines] == [False, False]


def test_ids_are_unique() -> None:
    ids = new_ids(1000)
    assert len(set(ids)) == 1000 and all(len(i) == 32 for i in ids)


def test_an_unknown_serving_path_is_refused() -> None:
    with pytest.raises(ValueError, match="'gpu' is not one of onnx, mlflow, batch"):
        Predictor("m", "1", "gpu")


def test_label_lines_carry_the_id_the_label_and_when() -> None:
    assert lines_of(label_lines([("a", 1), ("b", "yes")], 5.0)) == [
        {PREDICTION_ID: "a", LABEL: 1, LABELLED_AT: 5.0},
        {PREDICTION_ID: "b", LABEL: "yes", LABELLED_AT: 5.0}]


def test_input_columns_drop_every_record_field() -> None:
    assert input_columns(["x", *RECORD_FIELDS, "y"]) == ["x", "y"]
    assert reserved_names(["x", "prediction", "served_at"]) == ["prediction", "served_at"]


def test_the_served_prefix_and_its_inverse() -> None:
    assert served_prefix("churn") == "monitoring/churn/served"
    assert model_of_served("s3://mlflow/monitoring/churn/served/") == "churn"
    assert model_of_served("s3://mlflow/elsewhere/") is None


def test_a_write_past_the_bound_rotates_first_and_the_oldest_backup_is_dropped(
        tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    for line in (b"a\n", b"b\n", b"c\n", b"d\n"):
        prediction_log.append(log, line, max_bytes=3, backups=2)
    # Each write would pass 3 bytes: d is current, c the newest backup, b the oldest kept.
    assert [path.name for path in prediction_log.log_files(log)] == [
        "predictions.jsonl.2", "predictions.jsonl.1", "predictions.jsonl"]
    assert [path.read_bytes() for path in prediction_log.log_files(log)] == [b"b\n", b"c\n",
                                                                             b"d\n"]


def test_without_a_bound_a_log_only_grows(tmp_path: Path) -> None:
    log = tmp_path / "labels.jsonl"
    prediction_log.append(log, b"a\n")
    prediction_log.append(log, b"b\n")
    assert prediction_log.log_files(log) == [log]
    assert log.read_bytes() == b"a\nb\n"


def test_backups_are_listed_oldest_first_past_nine(tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    for index in (1, 2, 10):
        (tmp_path / f"predictions.jsonl.{index}").write_bytes(b"")
    assert [path.name for path in prediction_log.rotated_oldest_first(log)] == [
        "predictions.jsonl.10", "predictions.jsonl.2", "predictions.jsonl.1"]
