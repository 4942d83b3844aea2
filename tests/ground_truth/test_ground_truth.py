"""The label intake on a hand-made prediction log: each outcome, the one write, the command."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from mlops_platform.ground_truth import (
    ACCEPTED,
    DUPLICATE,
    LATE,
    OUT_OF_CONTRACT,
    UNKNOWN_ID,
    IntakeError,
    Label,
    classify,
    main,
    parse_value,
    read_csv,
    take_labels,
)
from mlops_platform.prediction_log import Predictor, label_lines, prediction_lines
from mlops_platform.prediction_store import read_labels

NOW = 1_800_000_000.0
DAY = 86400.0
TARGET = {"name": "target", "dtype": "int", "nullable": False, "allowed": [0, 1]}
CONTRACT = {"target": "target", "columns": [
    {"name": "x", "dtype": "float", "nullable": False}, TARGET]}
PREDICTOR = Predictor("churn", "3", "mlflow")
NO_LABELS = pd.DataFrame(columns=["prediction_id", "label", "labelled_at"])


def log(served: dict[str, float]) -> pd.DataFrame:
    """A prediction log of one row per id, served at the given times."""
    lines = b"".join(prediction_lines([{"x": 1.0}], [1], [prediction_id], PREDICTOR, at)
                     for prediction_id, at in served.items())
    return pd.read_json(io.BytesIO(lines), lines=True, dtype={"prediction_id": str},
                        convert_dates=False)


def labels(*pairs: tuple[str, object]) -> list[Label]:
    return [Label(prediction_id, value, line) for line, (prediction_id, value)
            in enumerate(pairs, start=2)]


def outcomes(verdicts) -> list[tuple[str, str]]:
    return [(verdict.label.prediction_id, verdict.outcome) for verdict in verdicts]


SERVED = log({"a": NOW - DAY, "b": NOW - 2 * DAY, "c": NOW - 40 * DAY})


def test_labels_of_logged_predictions_in_time_and_in_contract_are_all_accepted() -> None:
    verdicts = classify(labels(("a", 1), ("b", 0)), SERVED, NO_LABELS, TARGET, NOW)
    assert outcomes(verdicts) == [("a", ACCEPTED), ("b", ACCEPTED)]


def test_an_id_no_prediction_has_is_unknown() -> None:
    [verdict] = classify(labels(("zzz", 1)), SERVED, NO_LABELS, TARGET, NOW)
    assert (verdict.outcome, verdict.detail) == (UNKNOWN_ID, "no prediction in the log has this id")


def test_a_prediction_already_labelled_is_a_duplicate() -> None:
    stored = pd.DataFrame({"prediction_id": ["a"], "label": [0], "labelled_at": [NOW - 10]})
    verdicts = classify(labels(("a", 1), ("b", 1)), SERVED, stored, TARGET, NOW)
    assert outcomes(verdicts) == [("a", DUPLICATE), ("b", ACCEPTED)]
    assert verdicts[0].detail == "this prediction is already labelled"


def test_an_id_given_twice_in_one_batch_is_refused_on_every_row() -> None:
    verdicts = classify(labels(("a", 1), ("b", 1), ("a", 0)), SERVED, NO_LABELS, TARGET, NOW)
    assert outcomes(verdicts) == [("a", DUPLICATE), ("b", ACCEPTED), ("a", DUPLICATE)]
    assert verdicts[0].detail == "this id is given on lines 2, 4 of this file"


def test_a_label_later_than_the_delay_allowed_is_late_unless_the_delay_is_raised() -> None:
    [verdict] = classify(labels(("c", 1)), SERVED, NO_LABELS, TARGET, NOW)
    assert verdict.outcome == LATE
    assert verdict.detail == "labelled 40.0 days after it was served, more than the 30 days allowed"
    [raised] = classify(labels(("c", 1)), SERVED, NO_LABELS, TARGET, NOW, timedelta(days=41))
    assert raised.outcome == ACCEPTED


@pytest.mark.parametrize(("value", "detail"), [
    (2, "target 'target': 2 is not one of 0, 1"),
    ("yes", "target 'target': 'yes' is not an integer"),
    (None, "the label is empty"),
])
def test_a_label_the_target_column_does_not_allow_is_out_of_contract(value, detail) -> None:
    verdicts = classify(labels(("a", value), ("b", 1)), SERVED, NO_LABELS, TARGET, NOW)
    assert outcomes(verdicts) == [("a", OUT_OF_CONTRACT), ("b", ACCEPTED)]
    assert verdicts[0].detail == detail


def test_the_first_refusal_in_the_stated_order_is_the_answer() -> None:
    verdicts = classify(labels(("zzz", 7), ("c", 7)), SERVED, NO_LABELS, TARGET, NOW)
    assert outcomes(verdicts) == [("zzz", UNKNOWN_ID), ("c", LATE)]


@pytest.mark.parametrize(("text", "dtype", "value"), [
    ("1", "int", 1), ("1.0", "int", 1), ("0.25", "float", 0.25), ("3", "float", 3),
    ("yes", "int", "yes"), (" 1 ", "str", " 1 "), ("", "int", None), ("1.5", "int", 1.5),
])
def test_a_csv_cell_is_read_as_the_target_type_where_it_can_be(text, dtype, value) -> None:
    parsed = parse_value(text, dtype)
    assert (parsed, type(parsed)) == (value, type(value))


def test_only_the_accepted_labels_are_stored_in_one_write_and_a_resend_is_a_duplicate(
        tmp_path: Path) -> None:
    served = tmp_path / "predictions.jsonl"
    served.write_bytes(prediction_lines([{"x": 1.0}] * 2, [1, 0], ["a", "b"], PREDICTOR, NOW))
    store = tmp_path / "labels"
    intake = take_labels(labels(("a", 1), ("b", 5), ("zzz", 0)), str(served), str(store),
                         TARGET, now=NOW + 60)
    assert intake.counts() == {ACCEPTED: 1, UNKNOWN_ID: 1, DUPLICATE: 0, LATE: 0,
                               OUT_OF_CONTRACT: 1}
    assert intake.written_to == str(store / "labels.jsonl")
    assert (store / "labels.jsonl").read_bytes() == label_lines([("a", 1)], NOW + 60)
    again = take_labels(labels(("a", 1)), str(served), str(store), TARGET, now=NOW + 120)
    assert outcomes(again.verdicts) == [("a", DUPLICATE)] and again.written_to is None
    assert read_labels(str(store))["prediction_id"].tolist() == ["a"]


def test_no_prediction_log_at_the_location_is_no_check(tmp_path: Path) -> None:
    with pytest.raises(IntakeError, match=r"no prediction with an id is logged at .*monitoring/"):
        take_labels(labels(("a", 1)), str(tmp_path / "monitorng"), str(tmp_path / "labels"),
                    TARGET)
    assert not (tmp_path / "labels").exists()


# --- the command -------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project's files: its contract and a log of two predictions, one of them 40 days old."""
    (tmp_path / "data_contract.yaml").write_text(json.dumps(CONTRACT))  # JSON is YAML
    monitoring = tmp_path / "monitoring"
    monitoring.mkdir()
    now = pd.Timestamp.now(tz="UTC").timestamp()
    (monitoring / "predictions.jsonl").write_bytes(
        prediction_lines([{"x": 1.0}], [1], ["a"], PREDICTOR, now)
        + prediction_lines([{"x": 2.0}], [0], ["old"], PREDICTOR, now - 40 * DAY))
    return tmp_path


def run(project: Path, csv_text: str, *extra: str) -> int:
    (project / "labels.csv").write_text(csv_text)
    return main([str(project / "labels.csv"), "--predictions", str(project / "monitoring"),
                 "--labels", str(project / "monitoring" / "labels"),
                 "--contract", str(project / "data_contract.yaml"), *extra])


def stored_ids(project: Path) -> list[str]:
    return read_labels(str(project / "monitoring" / "labels"))["prediction_id"].tolist()


def test_all_accepted_exits_0_with_a_line_per_outcome(project: Path, capsys) -> None:
    assert run(project, "prediction_id,label\na,1\n") == 0
    store = project / "monitoring" / "labels" / "labels.jsonl"
    assert capsys.readouterr().out.splitlines() == [
        f"accepted: 1, written to {store}", "refused as unknown-id: 0", "refused as duplicate: 0",
        "refused as late: 0", "refused as out-of-contract: 0"]
    assert stored_ids(project) == ["a"]


def test_some_refused_exits_1_naming_each_with_its_fix_and_stores_the_rest(
        project: Path, capsys) -> None:
    assert run(project, "prediction_id,label\nnope,1\na,1\nold,0\n") == 1
    out = capsys.readouterr().out.splitlines()
    assert "accepted: 1, written to" in out[0]
    assert out[1:5] == ["refused as unknown-id: 1", "refused as duplicate: 0",
                        "refused as late: 1", "refused as out-of-contract: 0"]
    assert out[5].startswith("line 2, prediction_id 'nope': unknown-id: no prediction in the "
                             "log has this id; send an id from the `prediction_ids`")
    assert out[6].startswith("line 4, prediction_id 'old': late: labelled 40.0 days after")
    assert out[6].endswith("raise --max-delay-days")
    assert stored_ids(project) == ["a"]


def test_max_delay_days_lets_a_later_label_in(project: Path) -> None:
    assert run(project, "prediction_id,label\nold,0\n", "--max-delay-days", "45") == 0
    assert stored_ids(project) == ["old"]


@pytest.mark.parametrize(("csv_text", "message"), [
    ("prediction_id,outcome\na,1\n",
     "labels.csv has no column label: its first line must be the header prediction_id,label"),
    ("", "labels.csv has no column prediction_id, label: its first line must be the header"),
])
def test_a_csv_without_the_columns_exits_2_naming_them_and_stores_nothing(
        project: Path, capsys, csv_text: str, message: str) -> None:
    assert run(project, csv_text) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert stored_ids(project) == []


def test_an_unusable_contract_exits_2_naming_it(project: Path, capsys) -> None:
    (project / "data_contract.yaml").write_text(json.dumps({**CONTRACT, "target": "outcome"}))
    assert run(project, "prediction_id,label\na,1\n") == 2
    assert "the contract's target 'outcome' is not one of its columns" in capsys.readouterr().err
    assert stored_ids(project) == []


def test_a_missing_csv_exits_2(project: Path, capsys) -> None:
    assert main([str(project / "none.csv"), "--predictions", str(project / "monitoring"),
                 "--labels", str(project / "labels"),
                 "--contract", str(project / "data_contract.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_read_csv_keeps_the_line_of_each_row(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("label,prediction_id,note\n1,a,x\n0, b ,y\n")
    assert read_csv(path, "int") == [Label("a", 1, 2), Label("b", 0, 3)]
