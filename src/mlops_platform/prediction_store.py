"""Where the prediction log and its labels are kept, read whole and appended to.

A location is a local file or folder (a project's ``monitoring/``) or an S3 prefix (a
cluster's store, ``s3://<bucket>/monitoring/<model>/served/`` and ``.../labels/``, where
the log shipper puts them). Reading takes every JSON-lines file there, rotated ones
(``predictions.jsonl.1``) included; labels are appended as a new file (S3) or to
``labels.jsonl`` under a lock (a folder), so no writer rewrites what another wrote.

The S3 endpoint is ``MLFLOW_S3_ENDPOINT_URL`` (the platform's store), credentials the
``AWS_*`` variables, as for every other client of the store.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from mlops_platform import prediction_log
from mlops_platform.prediction_log import (
    LABEL,
    LABELLED_AT,
    LABELS_FILE,
    MODEL_VERSION,
    PREDICTION_ID,
    PREDICTIONS_FILE,
)
from mlops_platform.tools.s3 import client_error, store_client
from mlops_platform.tools.ship_predictions import object_key

_JSON_LINES = re.compile(r"\.jsonl(\.\d+)?$")
# Read as text: an id of digits only, or a version "1", must not become a number.
_TEXT_COLUMNS = {PREDICTION_ID: str, MODEL_VERSION: str}


class StoreError(RuntimeError):
    """A location that cannot be read or written; the message says which and what to check."""


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def read_lines(location: str) -> pd.DataFrame:
    """Every JSON line under ``location`` as one frame (empty when there is none)."""
    with tempfile.TemporaryDirectory(prefix="mlops-store-") as downloads:
        files = _s3_files(location, Path(downloads)) if is_s3(location) else _local_files(
            Path(location))
        frames = [_read(file) for file in files if file.stat().st_size]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def read_labels(location: str) -> pd.DataFrame:
    """The labels under ``location``: ``prediction_id``, ``label``, ``labelled_at``."""
    labels = read_lines(location)
    return labels if not labels.empty else pd.DataFrame(
        columns=[PREDICTION_ID, LABEL, LABELLED_AT])


def append_labels(location: str, data: bytes) -> str:
    """Add label lines at ``location`` (a folder's ``labels.jsonl``); where they went."""
    return _append(location, data, LABELS_FILE, "labels")


def append_predictions(location: str, data: bytes) -> str:
    """Add prediction lines at ``location`` (a folder's ``predictions.jsonl``, under the
    serving runtime's own lock); where they went."""
    return _append(location, data, PREDICTIONS_FILE, "batch")


def _append(location: str, data: bytes, file_name: str, writer: str) -> str:
    if not data:
        return location
    if is_s3(location):
        return _put_object(location, data, writer)
    return _append_local(Path(location) / file_name, data)


def _read(file: Path) -> pd.DataFrame:
    try:
        return pd.read_json(file, lines=True, dtype=_TEXT_COLUMNS, precise_float=True,
                            convert_dates=False)
    except ValueError as error:
        raise StoreError(f"{file} is not JSON lines: {error}") from error


def _local_files(path: Path) -> list[Path]:
    if path.is_file():
        return prediction_log.log_files(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and _JSON_LINES.search(p.name))
    return []  # nothing logged yet


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise StoreError(f"{uri} names no bucket: give s3://<bucket>/<prefix>")
    return bucket, key


def _client():
    return store_client()


CREDENTIALS = "MLFLOW_S3_ENDPOINT_URL and the AWS_* credentials"


@contextlib.contextmanager
def _store_errors(doing: str, check: str | None = CREDENTIALS) -> Iterator[None]:
    """The S3 client's errors as one StoreError: what was being done, why, what to check."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise StoreError(f"{doing}: {client_error(error)}"
                         + (f" (check {check})" if check else "")) from error


def _s3_files(uri: str, folder: Path) -> list[Path]:
    bucket, prefix = _split(uri)
    client = _client()
    with _store_errors(f"cannot read {uri}"):
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])
                if _JSON_LINES.search(item["Key"])]
        files = [folder / f"{index}.jsonl" for index in range(len(keys))]
        for key, file in zip(keys, files, strict=True):
            client.download_file(bucket, key, str(file))
        return files


def _put_object(uri: str, data: bytes, writer: str) -> str:
    bucket, prefix = _split(uri)
    written = f"s3://{bucket}/{object_key(prefix, writer)}"
    put_object(written, data)
    return written


def fetch_object(uri: str, folder: Path) -> Path:
    """Download the object ``s3://<bucket>/<key>`` into ``folder``; its path there."""
    bucket, key = _split(uri)
    path = folder / Path(key).name
    with _store_errors(f"cannot read {uri}", f"the object exists, {CREDENTIALS}"):
        _client().download_file(bucket, key, str(path))
    return path


def put_object(uri: str, data: bytes) -> None:
    """Write ``data`` as the object ``s3://<bucket>/<key>``."""
    bucket, key = _split(uri)
    with _store_errors(f"cannot write {uri}"):
        _client().put_object(Bucket=bucket, Key=key, Body=data)


def delete_object(uri: str) -> None:
    bucket, key = _split(uri)
    with _store_errors(f"cannot delete {uri}", check=None):
        _client().delete_object(Bucket=bucket, Key=key)


def _append_local(path: Path, data: bytes) -> str:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot write {path}: {error}") from error
    prediction_log.append(path, data)
    return str(path)
