"""Local serving for real: a registered model behind MLServer on 127.0.0.1, always stopped."""

from __future__ import annotations

import http.client
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.ensemble import RandomForestClassifier

from mlops_platform.prediction_log import (
    MODEL_NAME as MODEL_NAME_FIELD,
)
from mlops_platform.prediction_log import (
    MODEL_VERSION,
    PREDICTION_ID,
    RESPONSE_IDS,
    SERVING_PATH,
)
from mlops_platform.processes import free_port, process_is_running
from mlops_platform.serving import (
    ServingError,
    ServingHandle,
    ServingSettings,
    main,
    pinned_uri,
    start_serving,
)
from tests.support.http import post as http_post
from tests.support.servers import interruptible

pytestmark = pytest.mark.slow

MODEL_NAME = "serving-test"
FEATURES = ["age", "income", "score"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def training_frame(rows: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    target = (frame["age"] + frame["income"] > 0).astype(int).to_numpy()
    return frame, target


@pytest.fixture(scope="module")
def champion(tracking: str) -> RandomForestClassifier:
    frame, target = training_frame()
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, target)
    mlflow.set_experiment("local-serving-test")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(frame, model.predict(frame)),
            pip_requirements=["scikit-learn"],
            serialization_format="skops",
            skops_trusted_types=["sklearn.tree._tree.Tree"],
        )
    version = mlflow.register_model(info.model_uri, MODEL_NAME).version
    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", version)
    return model


@pytest.fixture(scope="module")
def served(
    champion: RandomForestClassifier,
    mlserver_installed: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServingHandle]:
    log_dir = tmp_path_factory.mktemp("monitoring")
    settings = ServingSettings(model_uri=f"models:/{MODEL_NAME}@champion", log_dir=log_dir)
    with start_serving(settings, work_dir=tmp_path_factory.mktemp("serve")) as handle:
        yield handle


def post(url: str, body: bytes | str, content_type: str = "application/json") -> tuple[int, str]:
    return http_post(url, body, content_type, timeout=30)


def get_status(url: str) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path)
        return connection.getresponse().status
    finally:
        connection.close()


def nothing_listens(port: int) -> bool:
    # Binding would fail on the server's TIME_WAIT sockets; connecting tells whether it listens.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def records(frame: pd.DataFrame) -> str:
    return json.dumps({"dataframe_records": frame.to_dict(orient="records")})


def test_served_predictions_equal_in_process_predictions(served, champion):
    rows, _ = training_frame(rows=25, seed=7)
    status, body = post(served.invocations_url, records(rows))
    assert status == 200, body
    assert json.loads(body)["predictions"] == champion.predict(rows).tolist()


def test_v2_inference_protocol_gives_the_same_predictions(served, champion):
    rows, _ = training_frame(rows=5, seed=8)
    rows = rows.assign(age=[201.0, 202.0, 203.0, 204.0, 205.0])
    request = {
        "inputs": [
            {"name": name, "datatype": "FP64", "shape": [len(rows)], "data": rows[name].tolist()}
            for name in FEATURES
        ]
    }
    status, body = post(served.infer_url, json.dumps(request))
    assert status == 200, body
    assert json.loads(body)["outputs"][0]["data"] == champion.predict(rows).tolist()
    logged = pd.read_json(served.prediction_log, lines=True, precise_float=True)
    mine = logged[logged["age"].isin(rows["age"])]
    assert mine["prediction"].tolist() == champion.predict(rows).tolist()


def test_health_and_readiness_endpoints_answer(served):
    assert get_status(served.live_url) == 200
    assert get_status(served.ready_url) == 200
    assert get_status(f"{served.url}/ping") == 200


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"dataframe_records": [{"age": 1.0, "score": 0.5}]}, "income"),
        ({"dataframe_records": [{"age": "old", "income": 1.0, "score": 0.5}]}, "age"),
        ({"dataframe_split": {"columns": ["age"], "data": [[1.0, 2.0]]}}, "column"),
        ({"rows": []}, "dataframe_records"),
    ],
    ids=["missing-column", "wrong-type", "ragged", "unknown-format"],
)
def test_bad_payload_gets_a_4xx_naming_the_problem_and_serving_goes_on(served, payload, named):
    status, body = post(served.invocations_url, json.dumps(payload))
    assert 400 <= status < 500, (status, body)
    assert named in body
    good, _ = training_frame(rows=1, seed=9)
    assert post(served.invocations_url, records(good))[0] == 200


def test_malformed_json_and_content_type_get_4xx(served):
    assert 400 <= post(served.invocations_url, "{not json")[0] < 500
    status, body = post(served.invocations_url, "age,income", content_type="text/plain")
    assert 400 <= status < 500
    assert "text/plain" in body


def test_sixteen_concurrent_clients_for_ten_seconds_get_no_errors(served):
    row = records(training_frame(rows=1, seed=3)[0]).encode()
    parts = urlsplit(served.invocations_url)
    deadline = time.monotonic() + 10.0
    outcomes: list[tuple[int, int]] = []

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        ok = errors = 0
        while time.monotonic() < deadline:
            try:
                connection.request("POST", parts.path, row, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                ok, errors = (ok + 1, errors) if response.status == 200 else (ok, errors + 1)
            except (OSError, http.client.HTTPException):
                errors += 1
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.close()
        outcomes.append((ok, errors))

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 16
    assert sum(errors for _, errors in outcomes) == 0
    assert all(ok > 0 for ok, _ in outcomes)


def test_predictions_are_logged_with_their_inputs_as_drift_data(served, champion):
    rows, _ = training_frame(rows=3, seed=11)
    rows = rows.assign(age=[101.0, 102.0, 103.0])
    assert post(served.invocations_url, records(rows))[0] == 200
    logged = pd.read_json(served.prediction_log, lines=True, precise_float=True)
    mine = logged[logged["age"].isin(rows["age"])].reset_index(drop=True)
    assert mine[FEATURES].to_numpy().tolist() == rows.to_numpy().tolist()
    assert mine["prediction"].tolist() == champion.predict(rows).tolist()


def test_every_row_gets_an_id_returned_and_logged_with_the_version_that_predicted_it(served):
    rows, _ = training_frame(rows=4, seed=12)
    rows = rows.assign(age=[111.0, 112.0, 113.0, 114.0])
    status, body = post(served.invocations_url, records(rows))
    assert status == 200, body
    answer = json.loads(body)
    ids = answer[RESPONSE_IDS]
    assert len(answer["predictions"]) == len(ids) == 4 and len(set(ids)) == 4
    logged = pd.read_json(served.prediction_log, lines=True, precise_float=True,
                          dtype={PREDICTION_ID: str, MODEL_VERSION: str})
    mine = logged[logged["age"].isin(rows["age"])].set_index("age").loc[rows["age"]]
    assert mine[PREDICTION_ID].tolist() == ids
    assert set(mine[MODEL_NAME_FIELD]) == {MODEL_NAME}
    assert set(mine[MODEL_VERSION]) == {"1"}  # the alias resolved, not "champion"
    assert set(mine[SERVING_PATH]) == {"mlflow"}


def test_the_v2_route_returns_its_ids_in_the_response_parameters(served):
    rows, _ = training_frame(rows=2, seed=13)
    request = {"inputs": [{"name": name, "datatype": "FP64", "shape": [2],
                           "data": rows[name].tolist()} for name in FEATURES]}
    status, body = post(served.infer_url, json.dumps(request))
    assert status == 200, body
    ids = json.loads(body)["parameters"][RESPONSE_IDS]
    assert len(ids) == 2 and len(set(ids)) == 2


@pytest.fixture(scope="module")
def served_with_target(champion, mlserver_installed, tmp_path_factory) -> Iterator[ServingHandle]:
    """Served under a contract that describes its target: 0 or 1."""
    folder = tmp_path_factory.mktemp("labelled")
    contract = folder / "data_contract.yaml"
    contract.write_text(json.dumps({"target": "target", "columns": [
        *({"name": name, "dtype": "float", "nullable": False} for name in FEATURES),
        {"name": "target", "dtype": "int", "nullable": False, "allowed": [0, 1]}]}))
    settings = ServingSettings(model_uri=f"models:/{MODEL_NAME}@champion",
                               log_dir=folder / "monitoring", contract=contract)
    with start_serving(settings, work_dir=tmp_path_factory.mktemp("serve")) as handle:
        yield handle


def labels_body(*pairs: tuple[object, object]) -> str:
    return json.dumps({"labels": [{"prediction_id": pid, "label": label}
                                  for pid, label in pairs]})


def stored_labels(handle: ServingHandle) -> list[dict]:
    path = handle.prediction_log.parent / "labels" / "labels.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_labels_sent_back_for_returned_ids_are_kept_beside_the_log(served_with_target):
    rows, _ = training_frame(rows=2, seed=21)
    status, body = post(served_with_target.invocations_url, records(rows))
    assert status == 200, body
    ids = json.loads(body)[RESPONSE_IDS]
    status, body = post(served_with_target.labels_url, labels_body((ids[0], 1), (ids[1], 0)))
    assert (status, json.loads(body)) == (200, {"accepted": 2})
    kept = stored_labels(served_with_target)
    assert [(line["prediction_id"], line["label"]) for line in kept[-2:]] == [
        (ids[0], 1), (ids[1], 0)]


@pytest.mark.parametrize(("body", "status", "said"), [
    (labels_body(("a", 1), ("a", 0)), 422, "'a' is labelled more than once"),
    (labels_body(("b", 7)), 422, "target"),
    (labels_body((3, 1)), 422, "prediction_id must be a string"),
    (json.dumps({"labels": []}), 400, "has no labels"),
    (json.dumps({"rows": []}), 400, "send {\"labels\""),
], ids=["repeated-id", "out-of-contract", "id-not-text", "empty", "no-labels-key"])
def test_bad_labels_are_refused_whole_naming_the_problem(served_with_target, body, status, said):
    before = stored_labels(served_with_target)
    answer_status, answer = post(served_with_target.labels_url, body)
    assert answer_status == status, answer
    assert said in json.loads(answer)["error"]
    assert stored_labels(served_with_target) == before


def write_contract(folder: Path) -> Path:
    columns = [{"name": name, "dtype": "float", "nullable": False, "min": -5.0, "max": 5.0}
               for name in FEATURES]
    path = folder / "data_contract.yaml"
    path.write_text(json.dumps({"target": "target", "columns": columns}))  # JSON is YAML
    return path


def output_line(process: subprocess.Popen, prefix: str) -> str:
    """The first line of the server's output that starts with ``prefix`` once stripped."""
    for line in process.stdout:
        if line.strip().startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting with {prefix!r}; stderr: {process.stderr.read()}")


def test_cli_serves_on_the_port_given_prints_a_working_curl_and_stops_on_ctrl_c(
    champion, mlserver_installed, tmp_path
):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlops_platform.serving",
            "--model-uri",
            f"models:/{MODEL_NAME}@champion",
            "--port",
            str(port),
            "--log-dir",
            str(tmp_path),
            "--contract",
            str(write_contract(tmp_path)),
            "--sample-rate",
            "0",
            "--workers",  # in-process inference: the quickest start
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    try:
        first_line = process.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        assert first_line == f"serving models:/{MODEL_NAME}@champion at {url}\n"
        example = output_line(process, "try:").removeprefix("try:").strip()
        answer = subprocess.run(shlex.split(example), capture_output=True, text=True,
                                timeout=30, check=True)
        assert len(json.loads(answer.stdout)["predictions"]) == 1
        for seed in range(5):
            assert post(f"{url}/invocations", records(training_frame(2, seed)[0]))[0] == 200
        server_pids = [p for p in _children(process.pid) if process_is_running(p)]
        assert server_pids
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert nothing_listens(urlsplit(url).port)
    assert not any(process_is_running(p) for p in server_pids)
    assert not (tmp_path / "predictions.jsonl").exists()


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_cli_without_tracking_uri_fails_with_the_fix(monkeypatch, capsys, mlserver_installed):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["--model-uri", f"models:/{MODEL_NAME}@champion"]) == 2
    assert "MLFLOW_TRACKING_URI is not set" in capsys.readouterr().err


def test_unknown_model_fails_naming_it(tracking, mlserver_installed, tmp_path):
    settings = ServingSettings(model_uri="models:/no-such-model@champion", log_dir=tmp_path)
    with pytest.raises(ServingError, match="no-such-model"), start_serving(settings, tmp_path):
        pass


@pytest.mark.parametrize("bad", [{"sample_rate": 1.5}, {"workers": -1}, {"max_batch_time": -1.0}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ServingError):
        ServingSettings(model_uri="models:/x@champion", **bad)


def test_the_files_served_are_the_version_the_alias_named_at_launch():
    registered = ("churn", "3", None)
    assert pinned_uri("models:/churn@champion", registered) == "models:/churn/3"
    assert pinned_uri("/srv/models/forest", None) == "/srv/models/forest"
