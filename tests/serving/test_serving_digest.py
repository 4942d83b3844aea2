"""A pod's model checked before it loads: real MLServer given a ``models:/`` URI (as a cluster's
serving pod is) loads a version whose files match the digest the gate recorded, and refuses
one whose files changed after promotion."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature

from mlops_platform import contract as ml_contract
from mlops_platform.model_digest import version_digest
from mlops_platform.processes import start_process_group, stop_process_group, wait_until_healthy
from mlops_platform.serving import (
    SERVED_MODEL_NAME,
    ServingSettings,
    runtime_path,
    write_mlserver_config,
)
from tests.serving.contracts import GOOD
from tests.serving.test_serving_door import MODEL_CODE, records
from tests.support.http import post

pytestmark = pytest.mark.slow

MODEL_NAME = "digest-test"
LOAD_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def versions(tracking: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Version URIs by what their digest tag says: the files' own digest, or another one."""
    code = tmp_path_factory.mktemp("model-code") / "older.py"
    code.write_text(MODEL_CODE)
    example = pd.DataFrame([GOOD])
    mlflow.set_experiment("serving-digest-test")
    client, found = MlflowClient(), {}
    for kind in ("promoted", "changed"):
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(code), pip_requirements=["pandas"],
                signature=infer_signature(example, pd.Series([1])))
        version = mlflow.register_model(info.model_uri, MODEL_NAME).version
        digest = version_digest(MODEL_NAME, str(version)).value
        if kind == "changed":  # as if a file was swapped after the gate recorded its digest
            digest = "sha256:" + "0" * 64
        client.set_model_version_tag(MODEL_NAME, str(version), ml_contract.TAG_MODEL_DIGEST,
                                     digest)
        found[kind] = f"models:/{MODEL_NAME}/{version}"
    return found


@contextlib.contextmanager
def pod_like_server(uri: str, work_dir: Path, mlserver: Path) -> Iterator[tuple[str, object, Path]]:
    """MLServer with the platform's runtime given the registry URI itself, as a pod is."""
    settings = ServingSettings(model_uri=uri, metrics=False)
    config_dir, port, _ = write_mlserver_config(settings, work_dir, Path(uri),
                                                work_dir / "predictions.jsonl")
    model_settings = config_dir / "model-settings.json"
    model = json.loads(model_settings.read_text())
    model["parameters"]["uri"] = uri
    model["parameters"]["extra"]["model_digest_tag"] = ml_contract.TAG_MODEL_DIGEST
    model_settings.write_text(json.dumps(model))
    log = work_dir / "mlserver.log"
    process = start_process_group([str(mlserver), "start", str(config_dir)], log,
                                  env={"PYTHONPATH": str(runtime_path(work_dir))}, cwd=work_dir)
    try:
        yield f"http://127.0.0.1:{port}", process, log
    finally:
        stop_process_group(process.pid)


def test_the_promoted_files_load_and_answer(versions, mlserver_installed, tmp_path) -> None:
    with pod_like_server(versions["promoted"], tmp_path, mlserver_installed) as (url, process,
                                                                                  log):
        wait_until_healthy(f"{url}/v2/models/{SERVED_MODEL_NAME}/ready", process, log,
                           timeout=LOAD_TIMEOUT)
        status, body = post(f"{url}/invocations", records(GOOD))
        assert status == 200 and json.loads(body)["predictions"] == [1], body


def test_changed_files_never_load(versions, mlserver_installed, tmp_path) -> None:
    with pod_like_server(versions["changed"], tmp_path, mlserver_installed) as (url, process,
                                                                                 log):
        with pytest.raises(Exception) as raised:
            wait_until_healthy(f"{url}/v2/models/{SERVED_MODEL_NAME}/ready", process, log,
                               timeout=LOAD_TIMEOUT)
        # MLServer stops when its model cannot load: the pod never becomes ready.
        assert "not the ones the gate promoted" in log.read_text(), raised.value
