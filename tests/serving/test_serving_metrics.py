"""The metrics real MLServer exports for a served version: every request of both routes by
status code and serving path, 422s by contract rule, latency, rows, model age; in-process and
with a parallel worker (MLServer's multiprocess directory)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.models import infer_signature

from mlops_platform.monitoring import catalog
from mlops_platform.serving import (
    ServingError,
    ServingSettings,
    metrics_labels,
    parse_args,
    registry_version,
    settings_of,
    write_mlserver_config,
)
from tests.serving.contracts import GOOD
from tests.serving.scraped import named, sample, scrape
from tests.serving.test_serving_door import MODEL_CODE, contract_file, records, serve
from tests.support.http import post

__all__ = ["contract_file"]  # a fixture of the door's tests, shared

pytestmark = pytest.mark.slow

MODEL_NAME = "metrics-test"
MAX_ROWS = 50
MAX_BODY_MB = 0.01  # 10 KiB: 200 rows are over it, 51 rows are not
REQUESTS = catalog.SERVING_REQUESTS.name
REJECTIONS = catalog.SERVING_CONTRACT_REJECTIONS.name
# One request breaking each rule of the contract (tests.serving.contracts), first or alone.
BREAKS = {
    "extra": records({**GOOD, "note": 1}),
    "missing": records({k: v for k, v in GOOD.items() if k != "income"}),
    "duplicate": '{"dataframe_records": [' + json.dumps(GOOD)[:-1] + ', "age": 42}]}',
    "null": records({**GOOD, "income": None}),
    "type": records({**GOOD, "age": 2.5}),
    "min": records({**GOOD, "age": -1}),
    "max": records({**GOOD, "income": 1e9}),
    "allowed": records({**GOOD, "segment": "z"}),
}


@pytest.fixture(scope="module")
def version(tracking: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, float]:
    """The door's model registered as MODEL_NAME: its URI, version and training run's end."""
    code = tmp_path_factory.mktemp("model-code") / "older.py"
    code.write_text(MODEL_CODE)
    example = pd.DataFrame([GOOD, {**GOOD, "age": 30, "score": None}])
    mlflow.set_experiment("serving-metrics-test")
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(code), pip_requirements=["pandas"],
            signature=infer_signature(example, pd.Series([1, 0])))
    number = mlflow.register_model(info.model_uri, MODEL_NAME).version
    ended = mlflow.MlflowClient().get_run(run.info.run_id).info.end_time / 1000
    return f"models:/{MODEL_NAME}/{number}", str(number), ended


@pytest.fixture(scope="module", params=[0, 1], ids=["in-process", "one-worker"])
def served(request, version, contract_file, mlserver_installed, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"metrics-{request.param}")
    yield from serve(version[0], contract_file, folder, workers=request.param,
                     max_rows=MAX_ROWS, max_body_mb=MAX_BODY_MB)


def v2_request(*ages: int) -> str:
    """A V2 infer request of GOOD rows with these ages."""
    def tensor(name: str, datatype: str, values: list, **extra) -> dict:
        return {"name": name, "datatype": datatype, "shape": [len(values)], "data": values,
                **extra}

    count = len(ages)
    return json.dumps({"inputs": [
        tensor("age", "INT64", list(ages)),
        tensor("income", "FP64", [GOOD["income"]] * count),
        tensor("segment", "BYTES", [GOOD["segment"]] * count,
               parameters={"content_type": "str"}),
        tensor("score", "FP64", [GOOD["score"]] * count),
    ]})


def send_the_traffic(handle) -> None:
    """4 answered (3 on /invocations: 1, 2 and 1 rows; 1 on V2: 2 rows), 9 breaks of the
    contract (one per rule, and a max on V2), 2 too large (rows, then bytes), 1 empty."""
    for body in (records(GOOD), records(GOOD, {**GOOD, "age": 77}), records(GOOD)):
        assert post(handle.invocations_url, body)[0] == 200
    assert post(handle.infer_url, v2_request(41, 50))[0] == 200
    for body in BREAKS.values():
        assert post(handle.invocations_url, body)[0] == 422
    assert post(handle.infer_url, v2_request(41, 300))[0] == 422
    assert post(handle.invocations_url, records(*[GOOD] * (MAX_ROWS + 1)))[0] == 413
    too_big = records(*[GOOD] * 200)
    assert len(too_big) > MAX_BODY_MB * 2**20
    assert post(handle.invocations_url, too_big)[0] == 413
    assert post(handle.invocations_url, records())[0] == 400


def test_every_request_is_counted_by_code_rule_and_path(served, version):
    _, number, trained_at = version
    send_the_traffic(served)
    series = scrape(served.metrics_url)
    model = {"model": MODEL_NAME, "version": number}
    path = {**model, "serving_path": "mlflow"}
    # Every code and rule has its series from the start (0 until it happens), so rates and
    # ratios over them exist before the first error.
    counts = {"200": 4, "422": 9, "413": 2, "400": 1}
    assert named(series, REQUESTS) == {
        frozenset({**path, "code": code}.items()): counts.get(code, 0)
        for code in catalog.REQUEST_CODES}
    assert set(BREAKS) == set(catalog.CONTRACT_RULES)
    assert named(series, REJECTIONS) == {
        frozenset({**model, "rule": rule}.items()): 2.0 if rule == "max" else 1.0
        for rule in BREAKS}
    latency = catalog.SERVING_LATENCY.name
    assert sample(series, f"{latency}_count", **path) == 16
    assert sample(series, f"{latency}_bucket", **path, le="+Inf") == 16
    assert 0 < sample(series, f"{latency}_sum", **path) < 16 * 10
    rows = catalog.SERVING_REQUEST_ROWS.name
    assert (sample(series, f"{rows}_count", **model), sample(series, f"{rows}_sum", **model)) \
        == (4, 6)
    assert sample(series, f"{rows}_bucket", **model, le="1.0") == 2
    calls = catalog.SERVING_BATCH_ROWS.name  # the batcher serves /invocations only
    assert (sample(series, f"{calls}_count", **model), sample(series, f"{calls}_sum", **model)) \
        == (3, 4)
    trained = named(series, catalog.SERVING_MODEL_TRAINED.name)
    assert trained == {frozenset(path.items()): pytest.approx(trained_at)}


def test_no_label_value_is_outside_its_bounded_set(served, version):
    assert post(served.invocations_url, records(GOOD))[0] == 200
    allowed = {"model": {MODEL_NAME}, "version": {version[1]},
               "serving_path": set(catalog.SERVING_PATHS), "code": set(catalog.REQUEST_CODES),
               "rule": set(catalog.CONTRACT_RULES)}
    series = scrape(served.metrics_url)
    assert series
    for name, labels in series:
        for label, value in labels:
            if label != "le":
                assert value in allowed[label], (name, label, value)


def test_metrics_off_leave_no_endpoint_and_no_labels(tmp_path):
    settings = ServingSettings(model_uri="models:/m/1", metrics=False)
    config_dir, _, metrics_port = write_mlserver_config(
        settings, tmp_path, tmp_path / "model", tmp_path / "log", labels={"model": "m"})
    server = json.loads((config_dir / "settings.json").read_text())
    model = json.loads((config_dir / "model-settings.json").read_text())
    assert metrics_port is None
    assert server["metrics_endpoint"] is None
    assert "metrics" not in model["parameters"]["extra"]
    assert settings_of(["--model-uri", "m", "--no-metrics"]).metrics is False
    assert parse_args(["--model-uri", "m", "--metrics-port", "9100"]).metrics_port == 9100


def written_settings(settings: ServingSettings, folder: Path) -> tuple[int | None, dict, dict]:
    config_dir, _, metrics_port = write_mlserver_config(
        settings, folder, folder / "model", folder / "log", labels={"model": "m"})
    return (metrics_port, json.loads((config_dir / "settings.json").read_text()),
            json.loads((config_dir / "model-settings.json").read_text())["parameters"]["extra"])


def test_the_metrics_port_is_the_one_asked_for(tmp_path):
    # One process: the runtime serves them, MLServer's endpoint and its middleware are off.
    metrics_port, server, extra = written_settings(
        ServingSettings(model_uri="models:/m/1", metrics_port=9123), tmp_path / "one")
    assert (metrics_port, server["metrics_endpoint"], "metrics_port" in server) \
        == (9123, None, False)
    assert (extra["metrics_port"], extra["metrics_host"]) == (9123, "127.0.0.1")
    # Parallel workers: MLServer's endpoint sums the workers' series.
    metrics_port, server, extra = written_settings(
        ServingSettings(model_uri="models:/m/1", metrics_port=9123, workers=2), tmp_path / "two")
    assert (metrics_port, server["metrics_port"], server["metrics_endpoint"]) \
        == (9123, 9123, "/metrics")
    assert "metrics_port" not in extra
    with pytest.raises(ServingError, match="another port than the HTTP port 9123"):
        ServingSettings(model_uri="m", port=9123, metrics_port=9123)


def test_labels_name_the_registered_version_or_say_unregistered(version):
    uri, number, trained_at = version
    assert metrics_labels(uri, registry_version(uri)) == {
        "model": MODEL_NAME, "version": number, "trained_at": trained_at}
    path = "/srv/models/forest"
    assert metrics_labels(path, registry_version(path)) == {
        "model": "forest", "version": "unregistered"}


def test_a_server_without_metrics_answers_both_routes(version, contract_file,
                                                      mlserver_installed, tmp_path):
    for handle in serve(version[0], contract_file, tmp_path, metrics=False):
        assert handle.metrics_url is None
        assert post(handle.invocations_url, records(GOOD))[0] == 200
        assert post(handle.infer_url, v2_request(41))[0] == 200
        assert post(handle.invocations_url, BREAKS["min"])[0] == 422
