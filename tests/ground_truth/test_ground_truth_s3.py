"""The label intake against a cluster's store layout in S3 (moto): read, checked, appended."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import boto3
import pytest

from mlops_platform.ground_truth import main
from mlops_platform.prediction_log import Predictor, labels_prefix, prediction_lines, served_prefix
from mlops_platform.prediction_store import read_labels
from tests.support.servers import S3Endpoint, running_moto_s3

pytestmark = pytest.mark.slow

BUCKET = "mlflow"
SERVED = f"s3://{BUCKET}/{served_prefix('churn')}/"
LABELS = f"s3://{BUCKET}/{labels_prefix('churn')}/"
CONTRACT = {"target": "target", "columns": [
    {"name": "x", "dtype": "float", "nullable": False},
    {"name": "target", "dtype": "int", "nullable": False, "allowed": [0, 1]}]}


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    with running_moto_s3(tmp_path_factory.mktemp("moto")) as endpoint, mock.patch.dict(
            os.environ, {**endpoint.environment(), "MLFLOW_S3_ENDPOINT_URL": endpoint.url}):
        client = boto3.client("s3", endpoint_url=endpoint.url)
        client.create_bucket(Bucket=BUCKET)
        # As the log shipper puts them: one object per shipped batch under served/.
        lines = prediction_lines([{"x": 1.0}, {"x": 2.0}], [1, 0], ["a", "b"],
                                 Predictor("churn", "2", "mlflow"), time.time())
        client.put_object(Bucket=BUCKET, Key=f"{served_prefix('churn')}/1.jsonl", Body=lines)
        yield endpoint


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    path = tmp_path / "data_contract.yaml"
    path.write_text(json.dumps(CONTRACT))
    return path


def labels_csv(folder: Path, text: str) -> str:
    path = folder / "labels.csv"
    path.write_text(text)
    return str(path)


def test_labels_land_in_the_store_beside_the_served_inputs(
        s3: S3Endpoint, contract: Path, tmp_path: Path, capsys) -> None:
    csv = labels_csv(tmp_path, "prediction_id,label\na,1\nmissing,0\n")
    assert main([csv, "--predictions", SERVED, "--labels", LABELS,
                 "--contract", str(contract)]) == 1
    out = capsys.readouterr().out
    assert f"accepted: 1, written to {LABELS}" in out
    assert "line 3, prediction_id 'missing': unknown-id" in out
    assert read_labels(LABELS)[["prediction_id", "label"]].values.tolist() == [["a", 1]]
    assert main([csv, "--predictions", SERVED, "--labels", LABELS,
                 "--contract", str(contract)]) == 1
    assert "line 2, prediction_id 'a': duplicate: this prediction is already labelled" in (
        capsys.readouterr().out)
    assert len(read_labels(LABELS)) == 1


def test_an_unreadable_store_exits_2_naming_it_and_writes_nothing(
        s3: S3Endpoint, contract: Path, tmp_path: Path, capsys) -> None:
    csv = labels_csv(tmp_path, "prediction_id,label\nb,0\n")
    assert main([csv, "--predictions", "s3://no-such-bucket/monitoring/churn/served/",
                 "--labels", LABELS, "--contract", str(contract)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("mlops-labels: cannot read s3://no-such-bucket/monitoring/churn/"
                            "served/: NoSuchBucket")
    assert error.rstrip().endswith("nothing was stored")
    assert "b" not in read_labels(LABELS)["prediction_id"].tolist()
