"""Drift check: the served data (current) against the training data (reference), by Evidently.

``mlops-drift --reference data/prepared/train.csv --current monitoring/ --report-dir reports/drift``
writes ``drift_report.html`` and ``drift_report.json`` and exits 0 when the data has not
drifted, 1 when it has, 2 when it could not check: an input is unusable, or a side has fewer
than ``--min-rows`` rows (``DEFAULT_MIN_ROWS``, 30), too few for a verdict. The project's
``make drift`` and the platform's Monitoring CronJob run this same command; every path may
be an ``s3://`` URI (boto3, with ``MLFLOW_S3_ENDPOINT_URL`` and the ``AWS_*`` variables, as
MLflow's artifact store uses).

Evidently 0.7 has no dataset-drift boolean: the verdict is "drifted" when the share of
drifted columns reaches ``drift_share`` (Evidently's own rule for dataset drift).

Memory is bounded whatever the size of the log: each side is streamed in blocks of rows and
at most ``--max-rows`` rows are kept (a uniform sample, seeded, so a rerun on the same files
compares the same rows); the command says how many rows it read of how many.

Time is bounded too: Evidently's tests run on at most ``TEST_ROWS`` rows of each side (a
seeded uniform sample of the rows read), while the test of each column and the columns'
types are still chosen on every row read, so the sample only estimates the score Evidently
would compute on all of them (a distance, as Evidently uses for more than 1000 rows).
A file path also takes its rotated backups (``predictions.jsonl.1``, ``.2``, ... as the
serving runtime rotates them); S3 objects are downloaded to a temporary folder first.

With ``--pushgateway URL`` (or ``MLOPS_PUSHGATEWAY_URL``) a check that reached a verdict
pushes it to a Prometheus Pushgateway (job ``drift-monitor``, grouped by ``--model``): drift
detected (0/1), the share of drifted columns, the data's staleness (the age of the newest
served row read, from its ``served_at``) and the time of this success. A check that could not
decide pushes nothing, so the last success ages; a push that fails is one line on stderr and
leaves the exit status as the check's.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from mlops_platform.monitoring.catalog import (
    DATA_STALENESS,
    DRIFT_DETECTED,
    DRIFT_JOB,
    DRIFT_LAST_SUCCESS,
    DRIFT_SHARE,
)
from mlops_platform.monitoring.collectors import (
    PUSHGATEWAY_HELP,
    default_pushgateway,
    push_job_result,
)
from mlops_platform.prediction_log import (
    RECORD_FIELDS,
    ROTATED,
    SERVED_AT,
    labels_prefix,
    log_files,
    model_of_served,
    served_prefix,
)
from mlops_platform.tools.s3 import store_client

HTML_REPORT = "drift_report.html"
JSON_REPORT = "drift_report.json"
READABLE_SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")
# Columns the prediction log adds that are not model inputs.
NOT_FEATURES = frozenset(RECORD_FIELDS)
DEFAULT_DRIFT_SHARE = 0.5
DEFAULT_MAX_ROWS = 100_000
# Fewer rows than this on either side and the per-column tests cannot tell drift from noise
# (5 unshifted rows of the breast cancer data already "drift" in some columns): no verdict.
DEFAULT_MIN_ROWS = 30
SAMPLE_SEED = 0
# Rows parsed at a time while reading: the memory of a read is this plus the rows kept.
BLOCK_ROWS = 10_000
# Rows of each side Evidently's tests run on. Their cost grows with the rows; beyond some
# thousands a distance's estimate barely moves (its error falls as 1/sqrt(rows), about 0.01
# here against the 0.1 threshold of Evidently's default distances). Above 1000 rows, so
# Evidently keeps the methods it uses for large data.
TEST_ROWS = 20_000


class DriftInputError(ValueError):
    """The inputs cannot be compared; the message names the input and the fix."""


@dataclass(frozen=True)
class DriftResult:
    drift_detected: bool
    drifted_columns: int
    columns: int
    drifted_share: float
    drift_share_threshold: float
    per_column: dict[str, dict[str, Any]]
    reference_rows: int
    current_rows: int
    # Rows of each side Evidently's tests ran on (all rows read, or a sample), and the limit.
    tested_rows: dict[str, int] = field(default_factory=dict)
    # The newest served_at of every current row read (not only the sample's), if logged.
    newest_served_at: float | None = None

    def verdict(self) -> str:
        word = "DRIFT" if self.drift_detected else "no drift"
        return (
            f"{word}: {self.drifted_columns} of {self.columns} columns drifted "
            f"(share {self.drifted_share:.2f}, threshold {self.drift_share_threshold:.2f}; "
            f"{self.current_rows} current rows vs {self.reference_rows} reference rows)"
        )

    def summary(self) -> dict[str, Any]:
        return {
            "drift_detected": self.drift_detected,
            "drifted_columns": self.drifted_columns,
            "columns": self.columns,
            "drifted_share": self.drifted_share,
            "drift_share_threshold": self.drift_share_threshold,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "tested_rows": self.tested_rows,
            "newest_served_at": self.newest_served_at,
            "per_column": self.per_column,
        }


# --- reading and writing local paths or s3:// URIs -------------------------------------------


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise DriftInputError(f"{uri} names no bucket: write s3://<bucket>/<key>")
    return bucket, key


def served_location(artifact_store_uri: str, model_name: str) -> str:
    """Where the platform's artifact store keeps a model's served inputs, as the log shipper
    writes them: ``s3://<bucket>/monitoring/<model>/served/``, or that folder of a ``file://``
    store (the embedded local platform's)."""
    return _store_location(artifact_store_uri, served_prefix(model_name), "served inputs")


def labels_location(artifact_store_uri: str, model_name: str) -> str:
    """Where the artifact store keeps the labels of a model's served rows, beside them
    (``s3://<bucket>/monitoring/<model>/labels/``, as the log shipper writes them)."""
    return _store_location(artifact_store_uri, labels_prefix(model_name), "labels")


def _store_location(artifact_store_uri: str, prefix: str, what: str) -> str:
    if is_s3(artifact_store_uri):
        bucket, _ = split_s3(artifact_store_uri)
        return f"s3://{bucket}/{prefix}/"
    if artifact_store_uri.startswith("file://"):
        return str(Path(unquote(urlparse(artifact_store_uri).path)) / prefix)
    raise DriftInputError(
        f"artifact store {artifact_store_uri!r} is neither s3:// nor file://, so its {what} "
        "cannot be read: check artifact_store_uri in the platform outputs")


@dataclass(frozen=True)
class Sample:
    """The rows read of one side, and how many there were."""

    frame: pd.DataFrame
    total_rows: int
    files: int
    newest_served_at: float | None = None

    def describe(self, role: str) -> str:
        how = "all of them" if len(self.frame) == self.total_rows else "a uniform sample"
        return (f"read {len(self.frame)} of {self.total_rows} {role} rows "
                f"({how}, from {self.files} file{'s' if self.files != 1 else ''})")


class BlockSample:
    """A uniform sample of at most ``size`` rows of a stream of frames of unknown length.

    Each row gets a seeded random key and the rows of the ``size`` smallest keys are kept
    (bottom-k sampling: every subset of ``size`` rows is equally likely), in stream order.
    Keys are drawn row by row, so the sample does not depend on how the stream is cut."""

    def __init__(self, size: int, seed: int = SAMPLE_SEED) -> None:
        self.size, self.seen = size, 0
        self._random = np.random.default_rng(seed)
        self._frames: list[pd.DataFrame] = []
        self._keys: list[np.ndarray] = []
        self._held = 0

    def add(self, frame: pd.DataFrame) -> None:
        self._frames.append(frame)
        self._keys.append(self._random.random(len(frame)))
        self.seen += len(frame)
        self._held += len(frame)
        if self._held >= 2 * self.size + BLOCK_ROWS:  # trim now and then, not at every block
            self._trim()

    def frame(self) -> pd.DataFrame:
        self._trim()
        return self._frames[0] if self._frames else pd.DataFrame()

    def _trim(self) -> None:
        if len(self._frames) <= 1 and self._held <= self.size:
            return
        frame = pd.concat(self._frames, ignore_index=True)
        keys = np.concatenate(self._keys)
        if len(frame) > self.size:
            kept = np.sort(np.argpartition(keys, self.size - 1)[: self.size])
            frame, keys = frame.take(kept).reset_index(drop=True), keys[kept]
        self._frames, self._keys, self._held = [frame], [keys], len(frame)


def read_table(uri: str, role: str, max_rows: int = DEFAULT_MAX_ROWS) -> Sample:
    """At most ``max_rows`` rows of a CSV, JSON-lines or Parquet file, or of all such files
    under a folder or S3 prefix."""
    if max_rows < 1:
        raise DriftInputError(f"max rows {max_rows} must be 1 or more")
    with tempfile.TemporaryDirectory(prefix="mlops-drift-") as downloads:
        files = _s3_files(uri, role, Path(downloads)) if is_s3(uri) else _local_files(
            Path(uri), role)
        sample, newest = BlockSample(max_rows), None
        for file in files:
            for block in _blocks(file, min(max_rows, BLOCK_ROWS)):
                if not block.empty:
                    sample.add(block)
                    newest = _newest_served_at(block, newest)
    if not sample.seen:
        raise DriftInputError(f"the {role} data {uri} holds no rows: {_what_it_needs(role)}")
    return Sample(sample.frame(), sample.seen, len(files), newest)


def _newest_served_at(block: pd.DataFrame, newest: float | None) -> float | None:
    if SERVED_AT not in block.columns:
        return newest
    column = block[SERVED_AT]
    if pd.api.types.is_datetime64_any_dtype(column):  # pandas reads a JSON `*_at` as a date
        epoch = pd.Timestamp(0, tz=column.dt.tz)
        latest = (column.max() - epoch) / pd.Timedelta(seconds=1)
    else:
        latest = pd.to_numeric(column, errors="coerce").max()
    if pd.isna(latest):
        return newest
    return float(latest) if newest is None else max(newest, float(latest))


def _local_files(path: Path, role: str) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and _readable(p.name))
    if path.is_file():
        return log_files(path)
    raise DriftInputError(f"the {role} data {path} does not exist: {_what_it_needs(role)}")


def _s3_files(uri: str, role: str, folder: Path) -> list[Path]:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3(uri)
    client = store_client()
    try:
        # One listing call returns at most 1000 keys; a serving log shipped every minute
        # passes that in a day.
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
        keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])
                if obj["Key"] == key or _readable(obj["Key"])]
        if not keys:
            raise DriftInputError(f"the {role} data {uri} does not exist: {_what_it_needs(role)}")
        files = [folder / f"{index}-{Path(k).name}" for index, k in enumerate(keys)]
        for k, file in zip(keys, files, strict=True):
            client.download_file(bucket, k, str(file))
        return files
    except (BotoCoreError, ClientError) as error:
        raise DriftInputError(
            f"cannot read {uri}: {error} (check MLFLOW_S3_ENDPOINT_URL and the AWS_* credentials)"
        ) from error


def _readable(name: str) -> bool:
    # A report written into the data's folder by an earlier run is no data.
    name = ROTATED.sub("", name)
    return name.endswith(READABLE_SUFFIXES) and not name.endswith(JSON_REPORT)


def _format(file: Path) -> str:
    name = ROTATED.sub("", file.name)
    if name.endswith((".jsonl", ".json")):
        return "json"
    return "parquet" if name.endswith(".parquet") else "csv"


def _blocks(file: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The rows of ``file``, ``rows`` at a time, parsed by pandas (pyarrow for Parquet)."""
    if file.stat().st_size == 0:
        return
    try:
        if _format(file) == "json":
            with pd.read_json(file, lines=True, chunksize=rows, precise_float=True) as reader:
                yield from reader
        elif _format(file) == "parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(file).iter_batches(batch_size=rows):
                yield batch.to_pandas()
        else:
            with pd.read_csv(file, chunksize=rows) as reader:
                yield from reader
    except (ValueError, OSError) as error:  # pandas' and pyarrow's parse errors are ValueErrors
        raise _not_tabular(file, error) from error


def _not_tabular(file: Path, error: Exception) -> DriftInputError:
    return DriftInputError(f"{file} is not valid CSV, JSON lines or Parquet: {error}")


def _what_it_needs(role: str) -> str:
    if role == "current":
        return "serve the model and send predictions first (its log is the current data)"
    return "give the training data, e.g. data/prepared/train.csv (`dvc pull` fetches it)"


def write_reports(report_dir: str, html: str, summary: dict[str, Any],
                  names: tuple[str, str] = (HTML_REPORT, JSON_REPORT)) -> tuple[str, str]:
    """The HTML report and the JSON summary, named ``names``, in a folder or under an S3
    prefix (the performance check writes its own through this too)."""
    body = json.dumps(summary, indent=2, default=_jsonable) + "\n"
    if is_s3(report_dir):
        return _upload_reports(report_dir, html, body, names)
    html_name, json_name = names
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / html_name).write_text(html)
    (folder / json_name).write_text(body)
    return str(folder / html_name), str(folder / json_name)


def _upload_reports(report_dir: str, html: str, body: str,
                    names: tuple[str, str]) -> tuple[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_s3(report_dir)
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    client = store_client()
    html_name, json_name = names
    try:
        client.put_object(Bucket=bucket, Key=prefix + html_name, Body=html.encode(),
                          ContentType=mimetypes.guess_type(html_name)[0] or "text/html")
        client.put_object(Bucket=bucket, Key=prefix + json_name, Body=body.encode(),
                          ContentType="application/json")
    except (BotoCoreError, ClientError) as error:
        raise DriftInputError(
            f"cannot write the reports to {report_dir}: {error} "
            "(check the bucket, MLFLOW_S3_ENDPOINT_URL and the AWS_* credentials)"
        ) from error
    base = f"s3://{bucket}/{prefix}"
    return base + html_name, base + json_name


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


# --- the comparison ------------------------------------------------------------------------


def shared_columns(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    columns = [c for c in reference.columns if c in current.columns and c not in NOT_FEATURES]
    if not columns:
        raise DriftInputError(
            f"reference and current data share no column: reference has "
            f"{list(reference.columns)[:10]}, current has {list(current.columns)[:10]}; "
            "compare the served inputs with the data the model was trained on"
        )
    return columns


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    drift_share: float = DEFAULT_DRIFT_SHARE,
    test_rows: int = TEST_ROWS,
):
    """Run Evidently's data-drift preset; returns the verdict and Evidently's snapshot.

    Columns' types and tests are chosen by Evidently on every row given; the tests then run on
    at most ``test_rows`` rows of each side (a seeded uniform sample)."""
    from evidently import Dataset, Report
    from evidently.presets import DataDriftPreset
    from threadpoolctl import threadpool_limits

    if not 0.0 < drift_share <= 1.0:
        raise DriftInputError(
            f"drift share {drift_share} is out of range: give the share of drifted columns "
            "(between 0 and 1, e.g. 0.5) above which the data set counts as drifted"
        )
    columns = shared_columns(reference, current)
    # Evidently types the columns from the current data; a sample could type them otherwise.
    definition = Dataset.from_pandas(current[columns]).data_definition
    methods = _stattests(reference, current, definition)
    samples = [_test_sample(side, columns, test_rows) for side in (reference, current)]
    preset = DataDriftPreset(drift_share=drift_share,
                             per_column_method={c: test.name for c, test in methods.items()})
    # Evidently's correlations call BLAS, whose threads (one per core) spin more than they
    # work on matrices this small: a fifth of the check's CPU time on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        # Evidently correlates the columns of each side for its report; a column that is
        # constant in the sample makes numpy divide by zero there. The verdict comes from the
        # per-column tests, which do not use those correlations.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(numpy|scipy)\.")
        snapshot = Report([preset]).run(
            current_data=Dataset.from_pandas(samples[1], data_definition=definition),
            reference_data=Dataset.from_pandas(samples[0], data_definition=definition),
        )
    sizes = Sizes(len(reference), len(current), len(samples[0]), len(samples[1]), test_rows)
    return _result_of(snapshot.dict(), methods, drift_share, sizes), snapshot


def _stattests(reference: pd.DataFrame, current: pd.DataFrame, definition) -> dict[str, Any]:
    """Evidently's own choice of test per column (by type, rows and distinct values), made on
    every row: a sample has fewer rows and may miss rare values, which would change it."""
    from evidently.legacy.calculations.stattests import get_stattest
    from evidently.legacy.core import ColumnType

    tested = (ColumnType.Numerical, ColumnType.Categorical, ColumnType.Text)
    return {
        column: get_stattest(_finite(reference[column]), _finite(current[column]),
                             definition.get_column_type(column), None)
        for column in definition.get_columns(list(tested))
    }


def _finite(column: pd.Series) -> pd.Series:
    # What Evidently drops from a column before it chooses and runs the test.
    return column.replace([-np.inf, np.inf], np.nan).dropna()


def _test_sample(frame: pd.DataFrame, columns: list[str], rows: int) -> pd.DataFrame:
    if len(frame) > rows:
        frame = frame.sample(n=rows, random_state=SAMPLE_SEED)
    return frame[columns]


@dataclass(frozen=True)
class Sizes:
    reference_rows: int
    current_rows: int
    reference_tested: int
    current_tested: int
    test_rows: int


def _result_of(
    snapshot: dict[str, Any], methods: dict[str, Any], drift_share: float, sizes: Sizes
) -> DriftResult:
    metrics = snapshot["metrics"]
    count = next(m for m in metrics if m["config"]["type"].endswith("DriftedColumnsCount"))
    per_column = {
        m["config"]["column"]: _column_drift(m["config"], methods, float(m["value"]))
        for m in metrics
        if m["config"]["type"].endswith("ValueDrift")
    }
    share = float(count["value"]["share"])
    return DriftResult(
        drift_detected=share >= drift_share,
        drifted_columns=int(count["value"]["count"]),
        columns=len(per_column),
        drifted_share=share,
        drift_share_threshold=drift_share,
        per_column=per_column,
        reference_rows=sizes.reference_rows,
        current_rows=sizes.current_rows,
        tested_rows={"reference": sizes.reference_tested, "current": sizes.current_tested,
                     "limit": sizes.test_rows},
    )


def _column_drift(config: dict[str, Any], methods: dict[str, Any], score: float) -> dict[str, Any]:
    test = methods.get(config["column"])
    method = test.display_name if test is not None else config["method"]
    threshold = float(config["threshold"])
    # p-value tests drift below their threshold, distances above it.
    drifted = score < threshold if "p_value" in method else score >= threshold
    return {"method": method, "score": score, "threshold": threshold, "drifted": drifted}


def check_sample_sizes(min_rows: int, max_rows: int) -> None:
    if not 2 <= min_rows <= max_rows:
        raise DriftInputError(
            f"min rows {min_rows} must lie between 2 and max rows {max_rows}: give the fewest "
            f"rows a side needs for a verdict (default {DEFAULT_MIN_ROWS})"
        )


def ensure_enough_rows(side: Sample, uri: str, role: str, min_rows: int) -> None:
    if len(side.frame) < min_rows:
        raise DriftInputError(
            f"the {role} data {uri} has {side.total_rows} rows, and a drift verdict needs at "
            f"least {min_rows} (--min-rows): {_what_more_needs(role)}, then run it again"
        )


def _what_more_needs(role: str) -> str:
    if role == "current":
        return "serve more predictions first (each logged request adds its rows)"
    return "give the full training data as the reference"


def run(
    reference_uri: str,
    current_uri: str,
    report_dir: str,
    drift_share: float,
    max_rows: int = DEFAULT_MAX_ROWS,
    min_rows: int = DEFAULT_MIN_ROWS,
):
    check_sample_sizes(min_rows, max_rows)
    reference = read_table(reference_uri, "reference", max_rows)
    current = read_table(current_uri, "current", max_rows)
    ensure_enough_rows(reference, reference_uri, "reference", min_rows)
    ensure_enough_rows(current, current_uri, "current", min_rows)
    result, snapshot = compare(reference.frame, current.frame, drift_share)
    result = replace(result, newest_served_at=current.newest_served_at)
    read = {role: {"rows_read": len(side.frame), "rows_total": side.total_rows,
                   "files": side.files, "max_rows": max_rows}
            for role, side in (("reference", reference), ("current", current))}
    summary = {**result.summary(), "reference": reference_uri, "current": current_uri,
               "read": read, "evidently": json.loads(snapshot.json())}
    paths = write_reports(report_dir, snapshot.get_html_str(as_iframe=False), summary)
    reading = [reference.describe("reference"), current.describe("current")]
    return result, paths, reading


# --- command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mlops-drift",
        description="Compare served data with the training reference (Evidently). "
        "Exit 0: no drift, 1: drift, 2: could not check (too few rows, unusable inputs).",
    )
    parser.add_argument("--reference", required=True, help="training data: path or s3:// URI")
    parser.add_argument("--current", required=True,
                        help="served data (the serving log): file, folder or s3:// URI")
    parser.add_argument("--report-dir", required=True, help="folder or s3:// URI for the reports")
    parser.add_argument("--drift-share", type=float, default=DEFAULT_DRIFT_SHARE,
                        help="share of drifted columns from which the data set has drifted")
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS,
                        help="rows read of each side at most (a uniform sample beyond it)")
    parser.add_argument("--min-rows", type=int, default=DEFAULT_MIN_ROWS,
                        help="rows each side needs at least for a verdict (fewer: exit 2)")
    parser.add_argument("--pushgateway", metavar="URL", default=default_pushgateway(),
                        help=PUSHGATEWAY_HELP)
    parser.add_argument("--model", help="the served model, the `model` label of what is pushed "
                        "(default: <model> of a --current under monitoring/<model>/served/)")
    args = parser.parse_args(argv)
    args.model = args.model or model_of_served(args.current)
    if args.pushgateway and not args.model:
        parser.error(f"--model is needed to push to {args.pushgateway} (the model label); "
                     f"--current {args.current} does not name it as monitoring/<model>/served/")
    return args


def push_result(result: DriftResult, gateway: str, model: str) -> bool:
    """The verdict to the Pushgateway, as the drift-monitor job of ``model``."""
    now = time.time()
    values = {DRIFT_DETECTED: float(result.drift_detected), DRIFT_SHARE: result.drifted_share,
              DRIFT_LAST_SUCCESS: now}
    if result.newest_served_at is not None:
        values[DATA_STALENESS] = max(0.0, now - result.newest_served_at)
    return push_job_result("mlops-drift", gateway, DRIFT_JOB, values, {"model": model})


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result, (html_path, json_path), reading = run(
            args.reference, args.current, args.report_dir, args.drift_share, args.max_rows,
            args.min_rows,
        )
    except DriftInputError as error:
        print(f"mlops-drift: {error}", file=sys.stderr)
        return 2
    print(result.verdict())
    print("\n".join(reading))
    print(f"reports: {html_path} {json_path}")
    if args.pushgateway:
        push_result(result, args.pushgateway, args.model)
    return 1 if result.drift_detected else 0


if __name__ == "__main__":
    raise SystemExit(main())
