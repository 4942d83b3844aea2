"""The prediction log and its labels: one format, written and read through this module only.

A served or batch-scored row is logged as one JSON line: its input columns as sent, then the
record fields below. Its ``prediction_id`` is also returned to the caller (``/invocations``
answers ``{"predictions": [...], "prediction_ids": [...]}``, MLflow's shape with one key
more), so a label sent back later joins the row it is the outcome of. A label is one JSON
line of ``prediction_id``, ``label`` and ``labelled_at``.

Writers: the serving runtime (in MLServer's environment, where this package is on the path
without its dependencies) and batch scoring. Readers: the log shipper (``served_at``, for its
lag), the drift check (the input columns), the label intake, the performance check and the
A/B report (the join).

The log's files are this module's too: every writer appends through ``append`` (one locked
write, rotating the log past its bound into ``predictions.jsonl.1``, ``.2``, ...), the
shipper takes files under the same lock (``locked``), and readers list them with
``log_files``.

Standard library only: it runs in MLServer's environment and in the serving image.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# The record fields of a prediction line. A data contract may not name a column after one.
PREDICTION_ID = "prediction_id"
PREDICTION = "prediction"
MODEL_NAME = "model_name"
MODEL_VERSION = "model_version"
SERVING_PATH = "serving_path"
SERVED_AT = "served_at"
ENTITY_KEY = "entity_key"
# The arm of an A/B test that answered the row (``mlops_platform.ab_test``); absent when no
# test runs.
ARM = "arm"
RECORD_FIELDS = (PREDICTION_ID, PREDICTION, MODEL_NAME, MODEL_VERSION, SERVING_PATH, SERVED_AT,
                 ENTITY_KEY, ARM)

# How a row was predicted: the two routes of a serving pod, and batch scoring.
SERVING_PATHS = ("onnx", "mlflow", "batch")

# The arms of an A/B test: the model in production and the one tried against it.
CHAMPION_ARM = "champion"
CHALLENGER_ARM = "challenger"
ARMS = (CHAMPION_ARM, CHALLENGER_ARM)

# A label line.
LABEL = "label"
LABELLED_AT = "labelled_at"
LABEL_FIELDS = (PREDICTION_ID, LABEL, LABELLED_AT)

# The key of an /invocations answer that holds the rows' ids, in the rows' order.
RESPONSE_IDS = "prediction_ids"

# The files of a log folder (a project's monitoring/, a serving pod's log volume).
PREDICTIONS_FILE = "predictions.jsonl"
LABELS_FILE = "labels.jsonl"
# Labels sit in a folder of their own beside the log: a reader of the log folder's lines
# (drift, the label intake) must never take a label for a prediction.
LABELS_FOLDER = "labels"

# Where a model's logs live in the artifact store (the shipper's and the checks' layout).
MONITORING_PREFIX = "monitoring"
_SERVED = re.compile(rf"(?:^|/){MONITORING_PREFIX}/([^/]+)/served/?$")


def served_prefix(model_name: str) -> str:
    """The store prefix of a model's prediction logs."""
    return f"{MONITORING_PREFIX}/{model_name}/served"


def model_of_served(location: str) -> str | None:
    """The model whose prediction logs a prefix or URI holds (``served_prefix``'s inverse),
    or None when it does not follow that layout."""
    found = _SERVED.search(location)
    return found.group(1) if found else None


def labels_path(log_path: str) -> str:
    """Where labels sent to a server are kept: ``labels/labels.jsonl`` beside its log."""
    return os.path.join(os.path.dirname(log_path), LABELS_FOLDER, LABELS_FILE)


def labels_prefix(model_name: str) -> str:
    """The store prefix of a model's labels, beside its prediction logs."""
    return f"{MONITORING_PREFIX}/{model_name}/labels"


@dataclass(frozen=True)
class Predictor:
    """What predicted a row: the record fields every line of one server or job shares."""

    model_name: str
    model_version: str
    serving_path: str
    # The contract's entity key column (e.g. a customer id), logged as ``entity_key``.
    entity_key_column: str | None = None
    # The A/B test arm this predictor serves, logged as ``arm``; None outside a test.
    arm: str | None = None

    def __post_init__(self) -> None:
        if self.serving_path not in SERVING_PATHS:
            raise ValueError(f"serving path {self.serving_path!r} is not one of "
                             f"{', '.join(SERVING_PATHS)}")
        if self.arm is not None and self.arm not in ARMS:
            raise ValueError(f"arm {self.arm!r} is not one of {', '.join(ARMS)}")


def new_ids(count: int) -> list[str]:
    """Ids no other row gets (random UUIDs, 32 hex digits)."""
    return [uuid.uuid4().hex for _ in range(count)]


def prediction_lines(rows: Sequence[dict], predictions: Sequence | None, ids: Sequence[str],
                     predictor: Predictor, served_at: float) -> bytes:
    """The log lines of one request's rows (``predictions`` None when they were not kept)."""
    with_predictions = predictions is not None and len(predictions) == len(rows)
    lines = []
    for index, row in enumerate(rows):
        line = dict(row)
        line[PREDICTION_ID] = ids[index]
        if with_predictions:
            line[PREDICTION] = predictions[index]
        line[MODEL_NAME] = predictor.model_name
        line[MODEL_VERSION] = predictor.model_version
        line[SERVING_PATH] = predictor.serving_path
        line[SERVED_AT] = served_at
        if predictor.entity_key_column is not None:
            line[ENTITY_KEY] = row.get(predictor.entity_key_column)
        if predictor.arm is not None:
            line[ARM] = predictor.arm
        # default=str: numpy scalars and dates of a parsed CSV; json keeps every float digit.
        lines.append(json.dumps(line, default=str) + "\n")
    return "".join(lines).encode()


def label_lines(labels: Iterable[tuple[str, object]], labelled_at: float) -> bytes:
    """The lines of accepted labels, each ``(prediction_id, label)``."""
    return "".join(json.dumps({PREDICTION_ID: prediction_id, LABEL: label,
                               LABELLED_AT: labelled_at}, default=str) + "\n"
                   for prediction_id, label in labels).encode()


def input_columns(columns: Iterable[str]) -> list[str]:
    """The model input columns of a prediction log's columns (its record fields dropped)."""
    return [column for column in columns if column not in RECORD_FIELDS]


def reserved_names(columns: Iterable[str]) -> list[str]:
    """The columns of a data contract that would collide with a record field."""
    return [column for column in columns if column in RECORD_FIELDS]


# --- the log's files: the current one, its rotated backups and the lock over both ---------------

# A rotated backup: predictions.jsonl.1 (the newest), .2, ... (the highest number the oldest).
ROTATED = re.compile(r"\.\d+$")


@contextlib.contextmanager
def locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the log's lock (``<path>.lock``): every write, rotation and the shipper's taking of
    files happens under it, so none of them meets a file another has half done."""
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def append(path: str | os.PathLike[str], data: bytes, max_bytes: int = 0,
           backups: int = 0) -> None:
    """One locked O_APPEND write, so the lines of concurrent writers never interleave; when
    ``max_bytes`` is set and the write would take the log past it, the log rotates first
    (keeping ``backups`` older files)."""
    with locked(path):
        if max_bytes and _size(path) + len(data) > max_bytes:
            rotate(path, backups)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def rotate(path: str | os.PathLike[str], backups: int) -> None:
    """``path`` becomes ``path.1``, ``path.1`` becomes ``path.2``; the oldest is dropped.
    Call it under ``locked(path)``."""
    if not os.path.exists(path):
        return
    if not backups:
        os.unlink(path)
        return
    for index in range(backups - 1, 0, -1):
        if os.path.exists(f"{path}.{index}"):
            os.replace(f"{path}.{index}", f"{path}.{index + 1}")
    os.replace(path, f"{path}.1")


def rotated_oldest_first(log: Path) -> list[Path]:
    """The rotated backups of ``log``, the highest number (the oldest) first."""
    return sorted((path for path in log.parent.glob(f"{log.name}.*") if ROTATED.search(path.name)),
                  key=lambda path: -int(path.name.rsplit(".", 1)[1]))


def log_files(log: Path) -> list[Path]:
    """Every file of the log, oldest first: its rotated backups, then the current one."""
    return [*rotated_oldest_first(log), log]


def _size(path: str | os.PathLike[str]) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0
