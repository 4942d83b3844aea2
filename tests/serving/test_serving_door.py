"""Requests checked at the door of real MLServer: the data contract (422), size limits (413),
and a prediction log that rotates."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow.models import infer_signature

from mlops_platform.serving import (
    ServingError,
    ServingHandle,
    ServingSettings,
    contract_of,
    start_serving,
    write_contract_json,
)
from tests.serving.contracts import CONTRACT, GOOD
from tests.support.http import post

pytestmark = pytest.mark.slow

MODEL_NAME = "door-test"
# A model from code: MLServer's environment loads it without any module of the tests.
MODEL_CODE = textwrap.dedent("""
    import mlflow

    class Older(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return (model_input["age"] > 40).astype(int).to_numpy()

    mlflow.models.set_model(Older())
""")
MAX_ROWS = 50
MAX_BODY_MB = 10
LOG_MAX_BYTES = 4096
LOG_BACKUPS = 2


@pytest.fixture(scope="module")
def model_uri(tracking: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    code = tmp_path_factory.mktemp("model-code") / "older.py"
    code.write_text(MODEL_CODE)
    example = pd.DataFrame([GOOD, {**GOOD, "age": 30, "score": None}])
    mlflow.set_experiment("serving-door-test")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(code), pip_requirements=["pandas"],
            signature=infer_signature(example, pd.Series([1, 0])),
        )
    version = mlflow.register_model(info.model_uri, MODEL_NAME).version
    return f"models:/{MODEL_NAME}/{version}"


@pytest.fixture(scope="module")
def contract_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("project") / "data_contract.yaml"
    path.write_text(yaml.safe_dump(CONTRACT, sort_keys=False))
    return path


def serve(model_uri: str, contract: Path, folder: Path, **settings) -> Iterator[ServingHandle]:
    settings = ServingSettings(model_uri=model_uri, contract=contract, log_dir=folder / "logs",
                               **settings)
    with start_serving(settings, work_dir=folder / "serve") as handle:
        yield handle


@pytest.fixture(scope="module")
def strict(model_uri, contract_file, mlserver_installed, tmp_path_factory):
    # One parallel worker: the checks run in a worker process, as in production.
    yield from serve(model_uri, contract_file, tmp_path_factory.mktemp("strict"), workers=1,
                     max_rows=MAX_ROWS, max_body_mb=MAX_BODY_MB,
                     log_max_mb=LOG_MAX_BYTES / 2**20, log_backups=LOG_BACKUPS)


@pytest.fixture(scope="module")
def dropping(model_uri, contract_file, mlserver_installed, tmp_path_factory):
    yield from serve(model_uri, contract_file, tmp_path_factory.mktemp("dropping"), workers=0,
                     extra_columns="drop")


def records(*rows: dict) -> str:
    return json.dumps({"dataframe_records": list(rows)})


def error_lines(body: str) -> list[str]:
    return json.loads(body)["error"].splitlines()


def says(body: str, message: str) -> bool:
    """The error is this one line (after the class MLServer's worker may put before it)."""
    lines = error_lines(body)
    return len(lines) == 1 and lines[0].endswith(message)


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"segment": "z"}, "row 1, column 'segment': 'z' is not one of 'a', 'b', 'c' (allowed)"),
        ({"age": -1}, "row 1, column 'age': -1 is below the minimum 0 (min)"),
        ({"income": 1e9},
         "row 1, column 'income': 1000000000.0 is above the maximum 1000000.0 (max)"),
        ({"age": 2.5}, "row 1, column 'age': 2.5 is not an integer (type)"),
        ({"income": "12.5"}, "row 1, column 'income': '12.5' is not a finite number (type)"),
        ({"income": None}, "row 1, column 'income': null, but the column is not nullable (null)"),
        ({"extra": 1}, "column 'extra': not in the data contract (extra)"),
    ],
    ids=["unknown-category", "below-range", "above-range", "float-for-int", "number-as-string",
         "null", "extra-column"],
)
def test_each_contract_rule_is_a_422_naming_row_column_and_rule(strict, change, line):
    status, body = post(strict.invocations_url, records(GOOD, {**GOOD, **change}))
    assert status == 422, body
    assert error_lines(body)[-1] == line
    assert post(strict.invocations_url, records(GOOD))[0] == 200


def test_a_missing_column_is_a_422_of_one_line_not_a_dump(strict):
    partial = {k: v for k, v in GOOD.items() if k != "income"}
    status, body = post(strict.invocations_url, records(partial))
    assert status == 422, body
    assert error_lines(body)[1:] == ["column 'income': absent, but required (missing)"]
    assert len(body) < 300


def test_every_break_of_a_request_is_listed(strict):
    status, body = post(strict.invocations_url,
                        records({**GOOD, "age": -1}, {**GOOD, "segment": None, "score": "x"}))
    assert status == 422, body
    assert error_lines(body)[1:] == [
        "row 0, column 'age': -1 is below the minimum 0 (min)",
        "row 1, column 'segment': null, but the column is not nullable (null)",
        "row 1, column 'score': 'x' is not a finite number (type)",
    ]


def test_csv_and_the_v2_protocol_are_checked_too(strict):
    frame = pd.DataFrame([GOOD, {**GOOD, "segment": "z"}])
    status, body = post(strict.invocations_url, frame.to_csv(index=False), "text/csv")
    assert status == 422, body
    assert "row 1, column 'segment': 'z'" in body
    request = {"inputs": [
        {"name": "age", "datatype": "INT64", "shape": [2], "data": [41, 300]},
        {"name": "income", "datatype": "FP64", "shape": [2], "data": [1.0, 2.0]},
        {"name": "segment", "datatype": "BYTES", "shape": [2], "data": ["a", "b"],
         "parameters": {"content_type": "str"}},
        {"name": "score", "datatype": "FP64", "shape": [2], "data": [0.1, 0.2]},
    ]}
    status, body = post(strict.infer_url, json.dumps(request))
    assert status == 422, body
    assert "row 1, column 'age': 300 is above the maximum 120 (max)" in body


def test_good_rows_are_served_and_logged(strict):
    status, body = post(strict.invocations_url,
                        records({**GOOD, "age": 77}, {**GOOD, "age": 20, "score": None}))
    assert status == 200, body
    assert json.loads(body)["predictions"] == [1, 0]
    logged = pd.read_json(strict.prediction_log, lines=True).tail(2)
    assert logged[["age", "prediction"]].to_numpy().tolist() == [[77, 1], [20, 0]]


def test_more_rows_than_the_limit_is_a_413(strict):
    status, body = post(strict.invocations_url, records(*[GOOD] * (MAX_ROWS + 1)))
    assert status == 413, body
    assert f"{MAX_ROWS + 1} rows are over the limit of {MAX_ROWS} rows" in body
    assert post(strict.invocations_url, records(*[GOOD] * MAX_ROWS))[0] == 200


def test_a_body_over_the_limit_is_a_413_and_serving_goes_on(strict):
    # 12 MB of rows: refused by size before any row is parsed or counted.
    rows = records(*[GOOD] * 200_000)
    assert len(rows) > (MAX_BODY_MB + 1) * 2**20
    status, body = post(strict.invocations_url, rows)
    assert status == 413, body
    assert f"over the limit of {MAX_BODY_MB * 2**20} bytes" in body
    assert post(strict.invocations_url, records(GOOD))[0] == 200


def test_a_column_given_twice_is_a_422_in_every_format(strict):
    refusal = "column 'age' is given more than once in the request: send each column once"
    twice = json.dumps(GOOD)[:-1] + ', "age": 42}'  # json.dumps cannot repeat a key
    split = {"columns": [*GOOD, "age"], "data": [[*GOOD.values(), 42]]}
    csv_body = ",".join([*GOOD, "age"]) + "\n" + ",".join(map(str, [*GOOD.values(), 42]))
    for body, content_type in [
        ('{"dataframe_records": [' + twice + "]}", "application/json"),
        (json.dumps({"dataframe_split": split}), "application/json"),
        (csv_body, "text/csv"),
    ]:
        status, answer = post(strict.invocations_url, body, content_type)
        assert status == 422, answer
        assert says(answer, refusal)
    request = {"inputs": [{"name": "age", "datatype": "INT64", "shape": [1], "data": [41]}] * 2}
    status, answer = post(strict.infer_url, json.dumps(request))
    assert status == 422, answer
    assert says(answer, refusal)


def test_a_deeply_nested_body_is_a_400_before_it_is_parsed(strict):
    depth = 100_000
    bomb = '{"dataframe_records": ' + "[" * depth + "]" * depth + "}"
    for content_type in ("application/json", "application/json; format=pandas-records"):
        status, body = post(strict.invocations_url, bomb, content_type)
        assert status == 400, body
        assert says(body, f"the JSON body nests {depth + 1} levels deep, over the limit of 32: "
                          "send rows as dataframe_records or dataframe_split")
    # Brackets inside strings (after an escaped backslash and quote) are no nesting: 40 of
    # them in a category are a contract break.
    status, body = post(strict.invocations_url, records({**GOOD, "segment": '\\"' + "[" * 40}))
    assert status == 422, body
    assert post(strict.invocations_url, records(GOOD))[0] == 200


def test_a_request_with_no_rows_is_a_400_saying_so(strict):
    split = {"columns": list(GOOD), "data": []}
    for body in (records(), json.dumps({"dataframe_split": split})):
        status, answer = post(strict.invocations_url, body)
        assert status == 400, answer
        assert says(answer, "the request has no rows: send at least one row to predict")
    status, answer = post(strict.invocations_url, ",".join(GOOD) + "\n", "text/csv")
    assert status == 400, answer
    assert says(answer, "the request has no rows: send at least one row to predict")


def test_the_prediction_log_rotates_keeping_a_bounded_number_of_files(strict):
    log = strict.prediction_log
    for age in range(60):
        assert post(strict.invocations_url, records(*[{**GOOD, "age": age}] * 5))[0] == 200
    files = sorted(log.parent.glob(f"{log.name}*"))
    names = [f.name for f in files if not f.name.endswith(".lock")]
    assert names == [log.name, f"{log.name}.1", f"{log.name}.2"]
    assert all(f.stat().st_size <= LOG_MAX_BYTES for f in files)
    newest = pd.read_json(log, lines=True)
    assert newest["age"].iloc[-1] == 59
    oldest = pd.read_json(log.with_name(f"{log.name}.{LOG_BACKUPS}"), lines=True)
    assert oldest["age"].min() > 0  # the first requests were rotated out


def test_extra_columns_are_dropped_when_the_server_says_so(dropping):
    status, body = post(dropping.invocations_url, records({**GOOD, "note": "vip"}))
    assert status == 200, body
    logged = pd.read_json(dropping.prediction_log, lines=True)
    assert "note" not in logged.columns
    status, body = post(dropping.invocations_url, records({**GOOD, "segment": "z", "note": 1}))
    assert status == 422
    assert error_lines(body)[1:] == [
        "row 0, column 'segment': 'z' is not one of 'a', 'b', 'c' (allowed)"]


def test_a_malformed_contract_stops_serving_before_it_starts(tmp_path):
    bad = tmp_path / "data_contract.yaml"
    bad.write_text("columns:\n- name: age\n  dtype: number\n")
    with pytest.raises(ServingError, match="dtype 'number' is not one of float, int, str"):
        write_contract_json(bad, tmp_path)
    with pytest.raises(ServingError, match="cannot read the data contract"):
        write_contract_json(tmp_path / "absent.yaml", tmp_path)


def test_the_project_contract_is_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert contract_of(None) is None
    (tmp_path / "data_contract.yaml").write_text(yaml.safe_dump(CONTRACT))
    assert contract_of(None) == Path("data_contract.yaml")
    assert contract_of(Path("other.yaml")) == Path("other.yaml")
