"""The prediction log and labels read whole and appended, in a folder and in S3 (moto)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import boto3
import pytest

from mlops_platform.prediction_log import Predictor, label_lines, prediction_lines
from mlops_platform.prediction_store import (
    StoreError,
    append_labels,
    append_predictions,
    read_labels,
    read_lines,
)
from tests.support.servers import S3Endpoint, running_moto_s3

PREDICTOR = Predictor("churn", "2", "mlflow")


def logged(ids: list[str], served_at: float = 1.0) -> bytes:
    return prediction_lines([{"x": float(i)} for i in range(len(ids))], [0] * len(ids), ids,
                            PREDICTOR, served_at)


def test_a_log_file_is_read_with_its_rotated_files_and_ids_stay_text(tmp_path: Path) -> None:
    (tmp_path / "predictions.jsonl").write_bytes(logged(["007", "a"]))
    (tmp_path / "predictions.jsonl.1").write_bytes(logged(["b"]))
    (tmp_path / "drift_report.json").write_text("{}")  # not a log
    frame = read_lines(str(tmp_path / "predictions.jsonl"))
    assert sorted(frame["prediction_id"]) == ["007", "a", "b"]
    assert set(frame["model_version"]) == {"2"}
    assert len(read_lines(str(tmp_path))) == 3


def test_labels_appended_to_a_folder_are_read_back(tmp_path: Path) -> None:
    append_labels(str(tmp_path / "labels"), label_lines([("a", 1)], 10.0))
    append_labels(str(tmp_path / "labels"), label_lines([("b", 0)], 11.0))
    labels = read_labels(str(tmp_path / "labels"))
    assert labels[["prediction_id", "label"]].values.tolist() == [["a", 1], ["b", 0]]


def test_nothing_logged_yet_is_an_empty_frame(tmp_path: Path) -> None:
    assert read_lines(str(tmp_path / "missing")).empty
    assert list(read_labels(str(tmp_path / "missing")).columns) == [
        "prediction_id", "label", "labelled_at"]


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    with running_moto_s3(tmp_path_factory.mktemp("moto")) as endpoint, mock.patch.dict(
            os.environ, {**endpoint.environment(), "MLFLOW_S3_ENDPOINT_URL": endpoint.url}):
        boto3.client("s3", endpoint_url=endpoint.url).create_bucket(Bucket="mlflow")
        yield endpoint


def test_labels_appended_to_s3_are_new_objects_read_back_whole(s3: S3Endpoint) -> None:
    where = "s3://mlflow/monitoring/churn/labels/"
    first = append_labels(where, label_lines([("a", 1)], 10.0))
    second = append_labels(where, label_lines([("b", 0), ("c", 1)], 11.0))
    assert first != second and first.startswith(where)
    assert sorted(read_labels(where)["prediction_id"]) == ["a", "b", "c"]


def test_an_unreadable_bucket_names_the_location_and_what_to_check(s3: S3Endpoint) -> None:
    with pytest.raises(StoreError, match=r"cannot read s3://no-such-bucket/x/: NoSuchBucket.*"
                                         r"MLFLOW_S3_ENDPOINT_URL"):
        read_lines("s3://no-such-bucket/x/")


def test_batch_predictions_join_the_serving_log_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "predictions.jsonl").write_bytes(logged(["served"]))
    append_predictions(str(tmp_path), logged(["batch-1", "batch-2"]))
    assert read_lines(str(tmp_path / "predictions.jsonl"))["prediction_id"].tolist() == [
        "served", "batch-1", "batch-2"]
