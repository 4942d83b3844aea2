"""An A/B test served by real MLServer: the champion and a challenger behind one server, each
row's arm fixed by its entity key, answered by its arm's model, logged with the arm and the
version that answered, counted by arm, and decided by the A/B report on the labels sent back."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow.models import infer_signature

from mlops_platform import ab_test
from mlops_platform.monitoring import catalog
from mlops_platform.prediction_log import CHALLENGER_ARM, CHAMPION_ARM, labels_path
from mlops_platform.serving import ServingError, ServingSettings
from mlops_platform.traffic_split import Split, share_tolerance
from tests.serving.contracts import CONTRACT, GOOD
from tests.serving.scraped import named, scrape
from tests.serving.test_serving_door import MODEL_CODE, records, serve
from tests.support.http import post

pytestmark = pytest.mark.slow

MODEL_NAME = "ab-split-test"
WEIGHT = 0.3
CUSTOMERS = 600
ROWS_PER_REQUEST = 10
TABLE_REQUESTS = CUSTOMERS // ROWS_PER_REQUEST + 7  # `answers` sends them
# The challenger answers 7 to every row: which model answered shows in the prediction.
CHALLENGER_CODE = textwrap.dedent("""
    import mlflow
    import numpy as np

    class Seven(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            if (model_input["age"] == 13).any():
                raise ValueError("the challenger cannot answer age 13")
            return np.full(len(model_input), 7)

    mlflow.models.set_model(Seven())
""")
CHALLENGER_ANSWER = 7
FAILING_AGE = 13  # the challenger fails on it; the champion answers
KEYED_CONTRACT = {**CONTRACT, "entity_key": "customer_id",
                  "columns": [{"name": "customer_id", "dtype": "int", "nullable": False,
                               "min": 0}, *CONTRACT["columns"]]}


def row(customer: int) -> dict:
    return {"customer_id": customer, **GOOD}  # age 41: the champion answers 1


@pytest.fixture(scope="module")
def versions(tracking: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The champion (version 1: age over 40) and the challenger (version 2: always 7)."""
    folder = tmp_path_factory.mktemp("ab-models")
    example = pd.DataFrame([row(1), {**row(2), "age": 30, "score": None}])
    mlflow.set_experiment("serving-ab-split-test")
    uris = []
    for name, code in (("older.py", MODEL_CODE), ("seven.py", CHALLENGER_CODE)):
        (folder / name).write_text(code)
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(folder / name), pip_requirements=["pandas"],
                signature=infer_signature(example, pd.Series([1, 0])))
        version = mlflow.register_model(info.model_uri, MODEL_NAME).version
        uris.append(f"models:/{MODEL_NAME}/{version}")
    return uris[0], uris[1]


@pytest.fixture(scope="module")
def keyed_contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keyed") / "data_contract.yaml"
    path.write_text(yaml.safe_dump(KEYED_CONTRACT, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def served(versions, keyed_contract, mlserver_installed, tmp_path_factory):
    champion, challenger = versions
    yield from serve(champion, keyed_contract, tmp_path_factory.mktemp("ab-served"), workers=0,
                     challenger=challenger, challenger_weight=WEIGHT)


@pytest.fixture(scope="module")
def answers(served) -> dict[int, list[tuple[object, str]]]:
    """Every customer's (prediction, id), once in requests of ten, once more in other company
    for the first hundred."""
    found: dict[int, list[tuple[object, str]]] = {}
    groups = [list(range(start, start + ROWS_PER_REQUEST))
              for start in range(0, CUSTOMERS, ROWS_PER_REQUEST)]
    groups += [list(range(start, 100, 7)) for start in range(7)]
    for customers in groups:
        status, body = post(served.invocations_url, records(*map(row, customers)))
        assert status == 200, body
        answer = json.loads(body)
        for customer, prediction, pid in zip(customers, answer["predictions"],
                                             answer["prediction_ids"], strict=True):
            found.setdefault(customer, []).append((prediction, pid))
    return found


def test_each_row_is_answered_by_the_arm_its_key_is_assigned(versions, answers) -> None:
    assigned = Split(WEIGHT, versions[1]).to_challenger(list(range(CUSTOMERS)))
    for customer, seen in answers.items():
        expected = CHALLENGER_ANSWER if assigned[customer] else 1
        assert {prediction for prediction, _ in seen} == {expected}, customer


def test_the_challengers_share_is_its_weight_within_the_tolerance(answers) -> None:
    share = sum(seen[0][0] == CHALLENGER_ANSWER for seen in answers.values()) / CUSTOMERS
    assert abs(share - WEIGHT) <= share_tolerance(CUSTOMERS, WEIGHT)


def logged(served) -> list[dict]:
    return [json.loads(line) for line in served.prediction_log.read_text().splitlines()]


def test_each_logged_row_names_its_arm_and_the_version_that_answered(versions, served,
                                                                     answers) -> None:
    lines = logged(served)
    assert len(lines) == sum(len(seen) for seen in answers.values())
    version_of = {CHAMPION_ARM: versions[0].rsplit("/", 1)[1],
                  CHALLENGER_ARM: versions[1].rsplit("/", 1)[1]}
    for line in lines:
        assert line["model_version"] == version_of[line["arm"]]
        assert (line["prediction"] == CHALLENGER_ANSWER) == (line["arm"] == CHALLENGER_ARM)
        assert line["entity_key"] == line["customer_id"]


def test_the_rows_are_counted_by_arm_and_version(versions, served, answers) -> None:
    lines = logged(served)
    counted = {dict(labels)["arm"]: (dict(labels)["version"], value) for labels, value in
               named(scrape(served.metrics_url), catalog.SERVING_AB_ROWS.name).items()}
    for arm, uri in zip((CHAMPION_ARM, CHALLENGER_ARM), versions, strict=True):
        rows = sum(line["arm"] == arm for line in lines)
        assert counted[arm] == (uri.rsplit("/", 1)[1], rows)


def test_each_arms_prediction_time_and_failures_are_measured(versions, served, answers) -> None:
    split = Split(WEIGHT, versions[1])
    customer = next(key for key in range(10_000, 20_000) if split.to_challenger([key])[0])
    status, body = post(served.invocations_url, records({**row(customer), "age": FAILING_AGE}))
    assert status == 400 and "cannot answer age 13" in body, body
    series = scrape(served.metrics_url)
    failures = {dict(labels)["arm"]: value for labels, value in
                named(series, catalog.SERVING_AB_FAILURES.name).items()}
    assert failures == {CHAMPION_ARM: 0.0, CHALLENGER_ARM: 1.0}
    timed = {dict(labels)["arm"]: value for labels, value in
             named(series, f"{catalog.SERVING_AB_PREDICT_SECONDS.name}_count").items()}
    # Each table request is predicted by one arm or by both, each arm at most once.
    assert all(0 < timed[arm] <= TABLE_REQUESTS + 1 for arm in (CHAMPION_ARM, CHALLENGER_ARM))


def test_a_request_outside_the_tables_is_answered_by_the_champion_without_an_arm(
        served, answers) -> None:
    before = len(logged(served))
    inputs = {"inputs": {key: [value] for key, value in row(5000).items()}}
    status, body = post(served.invocations_url, json.dumps(inputs))
    assert status == 200, body
    (line,) = logged(served)[before:]
    assert "arm" not in line and line["prediction"] == 1


def test_the_ab_report_decides_on_the_labels_sent_back(served, answers, tmp_path) -> None:
    # The truth is 1 for every customer: the champion is right, the challenger never is.
    labels = [{"prediction_id": pid, "label": 1}
              for seen in answers.values() for _, pid in seen]
    status, body = post(served.labels_url, json.dumps({"labels": labels}))
    assert status == 200, body
    plan = tmp_path / "ab_test.yaml"
    plan.write_text(yaml.safe_dump({"metric": "accuracy", "baseline": 0.7,
                                    "minimum_detectable_effect": 0.2,
                                    "challenger_weight": WEIGHT}))
    code = ab_test.main(["--plan", str(plan), "--predictions", str(served.prediction_log),
                         "--labels", str(labels_path(str(served.prediction_log))),
                         "--report-dir", str(tmp_path / "report")])
    report = json.loads((tmp_path / "report" / ab_test.JSON_REPORT).read_text())
    assert (code, report["decision"]) == (ab_test.STOP, ab_test.WORSE), report


@pytest.mark.parametrize("weight", [0.0, 1.5])
def test_a_weight_outside_zero_to_one_is_refused_before_serving(versions, weight) -> None:
    with pytest.raises(ServingError, match="challenger_weight"):
        ServingSettings(model_uri=versions[0], challenger=versions[1], challenger_weight=weight)


def test_the_served_version_as_its_own_challenger_is_refused(versions) -> None:
    with pytest.raises(ServingError, match="is the served model itself"):
        ServingSettings(model_uri=versions[0], challenger=versions[0])
