"""The monitor step of a trained project (`make drift`), as its scheduled CI job runs it:
served inputs read from the platform's artifact store (a moto S3 server), the verdict
recorded for CI, and a store it cannot read answered as "could not check", never as drift.

On the recovery project (tests/template/recovery.py): level 1, trained, its champion fresh,
its platform running.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest

from mlops_platform.ci.verdict import HEALTHY, RETRAIN, VERDICT_KEY
from mlops_platform.contract import read_outputs
from mlops_platform.prediction_log import (
    Predictor,
    label_lines,
    labels_prefix,
    new_ids,
    prediction_lines,
    served_prefix,
)
from tests.support.servers import S3Endpoint, running_moto_s3
from tests.template.baking import VENV, make
from tests.template.recovery import Recovery

pytestmark = pytest.mark.slow

BUCKET = "platform"
SERVED_ROWS = 200
HEALTHY_EXIT, DRIFT_EXIT, UNCHECKED_EXIT = 0, 1, 2


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    with running_moto_s3(tmp_path_factory.mktemp("store")) as endpoint:
        yield endpoint


@pytest.fixture
def in_ci(store: S3Endpoint, recovery: Recovery, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scheduled job's environment: the store's endpoint and reader key, and platform
    outputs whose artifact store is the S3 bucket (the tracking server stays the project's)."""
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", store.url)
    for key, value in store.environment().items():
        monkeypatch.setenv(key, value)
    return outputs_with_store(recovery.project, tmp_path, f"s3://{BUCKET}", monkeypatch)


def outputs_with_store(project: Path, folder: Path, store_uri: str,
                       monkeypatch: pytest.MonkeyPatch) -> Path:
    path = outputs_in_store(project / "platform_outputs.json", folder, store_uri)
    monkeypatch.setenv("PLATFORM_OUTPUTS", str(path))
    return path


def outputs_in_store(outputs_file: Path, folder: Path, store_uri: str) -> Path:
    """A copy of the platform's outputs in ``folder`` whose artifact store is ``store_uri``."""
    outputs = read_outputs(outputs_file)
    path = folder / "platform_outputs.json"
    path.write_text(outputs.to_json().replace(outputs.artifact_store_uri, store_uri))
    return path


def served(recovery: Recovery, shift: float) -> bytes:
    """A prediction log of training rows (features only), each value times `shift`."""
    train = pd.read_csv(recovery.project / "data/prepared/train.csv")
    rows = (train.drop(columns="target").sample(SERVED_ROWS, random_state=3) * shift)
    records = rows.to_dict(orient="records")
    return prediction_lines(records, [0] * len(records), new_ids(len(records)),
                            Predictor(recovery.model_name, "1", "onnx"), time.time())


def ship(store: S3Endpoint, recovery: Recovery, log: bytes) -> None:
    """What the log shipper does: the log under monitoring/<model>/served/<pod>/."""
    client = boto3.client("s3", endpoint_url=store.url, **client_keys(store))
    client.create_bucket(Bucket=BUCKET)
    prefix = f"{served_prefix(recovery.model_name)}/"
    for found in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=found["Key"])
    client.put_object(Bucket=BUCKET, Key=f"{prefix}serving-0/20261203T031700Z-a1.jsonl",
                      Body=log)


def client_keys(store: S3Endpoint) -> dict[str, str]:
    return {"aws_access_key_id": store.access_key, "aws_secret_access_key": store.secret_key,
            "region_name": "us-east-1"}


def monitor(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The monitor step itself (its exit code is not make's), with src/ importable as the
    Makefile makes it."""
    package = next(path.name for path in (project / "src").iterdir()
                   if (path / "monitor.py").is_file())
    return subprocess.run([str(VENV / "bin" / "python"), "-m", f"{package}.monitor", *args],
                          cwd=project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(project / "src")})


@pytest.mark.parametrize(("shift", "code", "verdict"), [(1.0, HEALTHY_EXIT, HEALTHY),
                                                         (3.0, DRIFT_EXIT, RETRAIN)],
                         ids=["healthy", "drifted"])
def test_the_scheduled_check_reads_the_store_and_records_its_verdict(
        recovery: Recovery, store: S3Endpoint, in_ci: Path, tmp_path: Path, shift: float,
        code: int, verdict: str) -> None:
    ship(store, recovery, served(recovery, shift))
    checked = monitor(recovery.project, "--current", "store")
    assert checked.returncode == code, checked.stdout + checked.stderr
    location = f"s3://{BUCKET}/{served_prefix(recovery.model_name)}/"
    assert f"drift: served inputs from {location}" in checked.stdout
    assert f"{SERVED_ROWS} current rows" in checked.stdout
    output = tmp_path / "verdict.env"
    recorded = make(recovery.project, "drift", "CURRENT=store", f"VERDICT={output}")
    assert output.read_text() == f"{VERDICT_KEY}={verdict}\n", recorded.stdout


def test_an_unreadable_store_is_no_verdict_and_fails_loudly(
        recovery: Recovery, store: S3Endpoint, in_ci: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    outputs_with_store(recovery.project, tmp_path, "s3://no-such-bucket", monkeypatch)
    checked = monitor(recovery.project, "--current", "store")
    assert checked.returncode == UNCHECKED_EXIT, checked.stdout + checked.stderr
    assert "cannot read s3://no-such-bucket/monitoring/" in checked.stderr
    output = tmp_path / "verdict.env"
    failed = make(recovery.project, "drift", "CURRENT=store", f"VERDICT={output}", check=False)
    assert failed.returncode == UNCHECKED_EXIT
    assert "could not check (exit 2" in failed.stderr
    assert not output.exists()


def test_a_store_the_platform_outputs_cannot_name_is_no_verdict(
        recovery: Recovery, in_ci: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    outputs_with_store(recovery.project, tmp_path, "gs://platform", monkeypatch)
    checked = monitor(recovery.project, "--current", "store")
    assert checked.returncode == UNCHECKED_EXIT
    assert "artifact store 'gs://platform' is neither s3:// nor file://" in checked.stderr


def test_make_drift_reads_the_local_log_unless_told_otherwise(recovery: Recovery) -> None:
    # The project is also the pipeline tests' level-1 project: whether their served rows are in
    # its log yet depends on which of the modules ran first on this worker.
    served_here = (recovery.project / "monitoring" / "predictions.jsonl").is_file()
    checked = monitor(recovery.project)
    assert "drift: served inputs from monitoring/predictions.jsonl" in checked.stdout
    if served_here:
        assert checked.returncode in (HEALTHY_EXIT, DRIFT_EXIT), checked.stderr
    else:
        assert checked.returncode == UNCHECKED_EXIT  # nothing served: no verdict


def test_make_labelled_data_reads_the_served_rows_and_labels_from_the_store(
        recovery: Recovery, store: S3Endpoint, in_ci: Path, tmp_path: Path) -> None:
    """Run in a folder of its own (params.yaml and the contract copied): the recovery
    project's data/labelled/ stays as the pipeline tests expect it."""
    log = served(recovery, 1.0)
    ship(store, recovery, log)
    ids = [json.loads(line)["prediction_id"] for line in log.splitlines()][:50]
    client = boto3.client("s3", endpoint_url=store.url, **client_keys(store))
    client.put_object(Bucket=BUCKET, Key=f"{labels_prefix(recovery.model_name)}/labels.jsonl",
                      Body=label_lines([(prediction_id, 1) for prediction_id in ids], time.time()))
    for name in ("params.yaml", "data_contract.yaml"):
        shutil.copy(recovery.project / name, tmp_path / name)
    package = next(path.name for path in (recovery.project / "src").iterdir()
                   if (path / "labelled.py").is_file())

    exported = subprocess.run(
        [str(VENV / "bin" / "python"), "-m", f"{package}.labelled", "--current", "store"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(recovery.project / "src")})

    assert exported.returncode == 0, exported.stderr
    assert "wrote 50 labelled rows to data/labelled/served.csv" in exported.stdout
    assert len(pd.read_csv(tmp_path / "data/labelled/served.csv")) == 50
    lineage = json.loads((tmp_path / "data/labelled/served.lineage.json").read_text())
    assert lineage["prediction_ids"] == ids
