"""How real MLServer predicts: concurrent requests share model calls, and a version with a
checked ONNX export is served by ONNX Runtime."""

from __future__ import annotations

import json
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import mlflow.sklearn
import pandas as pd
import pytest
from mlflow.models import infer_signature

from mlops_platform import contract
from mlops_platform.monitoring import catalog
from mlops_platform.onnx_export import choose_serving_path, log_serving_path
from mlops_platform.serving import ServingError, ServingSettings, start_serving
from tests.serving.scraped import named, sample, scrape
from tests.serving.test_onnx_export import pipeline, table
from tests.serving.test_serving_door import records
from tests.support.http import post

pytestmark = pytest.mark.slow

CONCURRENT = 8
# A model that answers, for each row, its id and how many rows its call predicted. It takes
# a while per call (a model's own cost), so requests sent together find it busy.
CALL_SIZE_CODE = textwrap.dedent("""
    import time

    import mlflow
    import pandas as pd

    class CallSize(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            time.sleep(0.4)
            return pd.DataFrame({"id": model_input["id"], "call_rows": len(model_input)})

    mlflow.models.set_model(CallSize())
""")


def register(name: str, log_model) -> str:
    mlflow.set_experiment("serving-paths-test")
    with mlflow.start_run():
        info = log_model()
    return f"models:/{name}/{mlflow.register_model(info.model_uri, name).version}"


@pytest.fixture(scope="module")
def call_size_uri(tracking: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    code = tmp_path_factory.mktemp("call-size") / "call_size.py"
    code.write_text(CALL_SIZE_CODE)
    example = pd.DataFrame({"id": [1, 2], "x": [0.5, 1.5]})
    return register("call-size", lambda: mlflow.pyfunc.log_model(
        name="model", python_model=str(code), pip_requirements=["pandas"],
        signature=infer_signature(example, pd.DataFrame({"id": [1], "call_rows": [1]}))))


def predict_together(url: str, bodies: list[str]) -> list[tuple[int, str]]:
    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(lambda body: post(url, body), bodies))


def served(model_uri: str, folder: Path, **settings):
    return start_serving(ServingSettings(model_uri=model_uri, log_dir=folder / "logs",
                                         **settings), work_dir=folder / "serve")


def test_requests_that_arrive_while_the_model_is_busy_share_its_next_call(
        call_size_uri, mlserver_installed, tmp_path):
    bodies = [records({"id": i, "x": 0.1 * i}) for i in range(CONCURRENT)]
    with served(call_size_uri, tmp_path) as handle:
        answers = predict_together(handle.invocations_url, bodies)
        series = scrape(handle.metrics_url)
    assert [status for status, _ in answers] == [200] * CONCURRENT
    predictions = [json.loads(body)["predictions"] for _, body in answers]
    # Each request gets its own row back, whatever call predicted it.
    assert [p[0]["id"] for p in predictions] == list(range(CONCURRENT))
    assert max(p[0]["call_rows"] for p in predictions) > 1
    # The metrics count the model calls the answers saw (a call of n rows answered n
    # requests), and every row once.
    calls = catalog.SERVING_BATCH_ROWS.name
    model = {"model": "call-size", "version": call_size_uri.rsplit("/", 1)[1]}
    assert sample(series, f"{calls}_count", **model) \
        == round(sum(1 / p[0]["call_rows"] for p in predictions)) < CONCURRENT
    assert sample(series, f"{calls}_sum", **model) == CONCURRENT


def test_without_batching_every_request_is_its_own_call(call_size_uri, mlserver_installed,
                                                        tmp_path):
    bodies = [records({"id": i, "x": 0.1 * i}) for i in range(4)]
    with served(call_size_uri, tmp_path, batch_rows=1) as handle:
        answers = predict_together(handle.invocations_url, bodies)
    assert {json.loads(body)["predictions"][0]["call_rows"] for _, body in answers} == {1}


def test_a_bad_request_among_busy_ones_fails_alone(call_size_uri, mlserver_installed,
                                                   tmp_path):
    good = [records({"id": i, "x": 0.1 * i}) for i in range(4)]
    bodies = [*good[:2], records({"x": 1.0}), *good[2:]]  # the third lacks the id column
    with served(call_size_uri, tmp_path) as handle:
        answers = predict_together(handle.invocations_url, bodies)
    assert [status for status, _ in answers] == [200, 200, 400, 200, 200]
    assert "id" in json.loads(answers[2][1])["error"]


@pytest.fixture(scope="module")
def sklearn_versions(tracking: str) -> dict[str, object]:
    """The template's kind of model registered twice: with a checked ONNX export, and
    without one."""
    features, target = table(400)
    test, _ = table(60, seed=1)
    model = pipeline().fit(features, target)

    def log(with_onnx: bool):
        info = mlflow.sklearn.log_model(
            model, name="model", signature=infer_signature(test, model.predict(test)),
            pip_requirements=["scikit-learn"], serialization_format="skops",
            skops_trusted_types=["sklearn.compose._column_transformer.ColumnTransformer"])
        if with_onnx:
            log_serving_path(choose_serving_path(model, test))
        return info

    return {"model": model, "test": test,
            "onnx": register("with-onnx", lambda: log(True)),
            "plain": register("without-onnx", lambda: log(False))}


def test_a_version_with_a_checked_export_is_served_by_onnx_runtime(
        sklearn_versions, mlserver_installed, tmp_path):
    test, model = sklearn_versions["test"], sklearn_versions["model"]
    with served(sklearn_versions["onnx"], tmp_path) as handle:
        split = test.to_dict(orient="split", index=False)
        status, body = post(handle.invocations_url, json.dumps({"dataframe_split": split}))
        series = scrape(handle.metrics_url)
    assert status == 200, body
    assert handle.engine.startswith("ONNX Runtime (the export was checked on 60 test rows")
    assert json.loads(body)["predictions"] == model.predict(test).tolist()
    # Its metrics say which path answered (V2 would be mlflow's), and the version's age is
    # the export's too.
    model = {"model": "with-onnx", "version": sklearn_versions["onnx"].rsplit("/", 1)[1]}
    answered = {path: sample(series, catalog.SERVING_REQUESTS.name, **model,
                             serving_path=path, code="200") for path in ("onnx", "mlflow")}
    assert answered == {"onnx": 1, "mlflow": 0}
    assert list(named(series, catalog.SERVING_MODEL_TRAINED.name)) == [
        frozenset({**model, "serving_path": "onnx"}.items())]


def test_engine_mlflow_serves_the_flavor_even_with_an_export(sklearn_versions,
                                                              mlserver_installed, tmp_path):
    with served(sklearn_versions["onnx"], tmp_path, engine="mlflow") as handle:
        status, _ = post(handle.invocations_url, records(*sklearn_versions["test"].head(2)
                                                         .to_dict("records")))
    assert status == 200
    assert handle.engine == "the model's MLflow flavor (engine mlflow)"


def test_engine_onnx_refuses_a_version_without_an_export(sklearn_versions, mlserver_installed,
                                                        tmp_path):
    with pytest.raises(ServingError, match="has no checked ONNX export"), \
            served(sklearn_versions["plain"], tmp_path, engine="onnx"):
        pass
    assert contract.TAG_SERVING_PATH not in mlflow.MlflowClient().get_run(
        mlflow.MlflowClient().get_model_version("without-onnx", "1").run_id).data.tags


def test_the_explain_endpoint_explains_each_row_of_the_served_model(
        sklearn_versions, mlserver_installed, tmp_path):
    from mlops_platform import explanations

    test, model = sklearn_versions["test"], sklearn_versions["model"]
    with served(sklearn_versions["onnx"], tmp_path) as handle:
        url = handle.invocations_url.replace("/invocations", "/explain")
        status, body = post(url, json.dumps(
            {"dataframe_split": test.to_dict(orient="split", index=False)}))
        refused, why = post(url, json.dumps({"inputs": [[1, 2]]}))
    assert status == 200, body
    found = json.loads(body)["explanations"]
    # Row for row, the served model's own score, split exactly into its contributions.
    assert [item["value"] for item in found] == pytest.approx(
        model.decision_function(test).tolist(), abs=1e-9)
    assert max(explanations.additivity_gap(item) for item in found) \
        < explanations.ADDITIVITY_TOLERANCE
    assert {entry["feature"] for entry in found[0]["contributions"]} == set(test.columns)
    assert refused == 400 and "explain takes a table" in why


def test_a_model_the_endpoint_cannot_explain_is_a_400_naming_why(
        call_size_uri, mlserver_installed, tmp_path):
    with served(call_size_uri, tmp_path) as handle:
        status, body = post(handle.invocations_url.replace("/invocations", "/explain"),
                            records({"id": 1}))
    assert status == 400 and "this model cannot be explained" in body
