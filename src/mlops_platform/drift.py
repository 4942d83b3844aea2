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

Memory is bounded whatever the size of the log: each side is streamed row by row and at
most ``--max-rows`` rows are kept (a uniform reservoir sample, seeded, so a rerun on the
same files compares the same rows); the command says how many rows it read of how many.
A file path also takes its rotated backups (``predictions.jsonl.1``, ``.2``, ... as the
serving runtime rotates them); S3 objects are downloaded to a temporary folder first.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

HTML_REPORT = "drift_report.html"
JSON_REPORT = "drift_report.json"
READABLE_SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")
# Columns the serving log adds that are not model inputs.
NOT_FEATURES = frozenset({"served_at"})
DEFAULT_DRIFT_SHARE = 0.5
DEFAULT_MAX_ROWS = 100_000
# Fewer rows than this on either side and the per-column tests cannot tell drift from noise
# (5 unshifted rows of the breast cancer data already "drift" in some columns): no verdict.
DEFAULT_MIN_ROWS = 30
SAMPLE_SEED = 0
# A rotated backup of a log: predictions.jsonl.1, predictions.jsonl.2, ...
ROTATED = re.compile(r"\.\d+$")


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


def s3_client():
    import boto3

    return boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None)


@dataclass(frozen=True)
class Sample:
    """The rows read of one side, and how many there were."""

    frame: pd.DataFrame
    total_rows: int
    files: int

    def describe(self, role: str) -> str:
        how = "all of them" if len(self.frame) == self.total_rows else "a uniform sample"
        return (f"read {len(self.frame)} of {self.total_rows} {role} rows "
                f"({how}, from {self.files} file{'s' if self.files != 1 else ''})")


class Reservoir:
    """A uniform sample of at most ``size`` items of a stream of unknown length (Algorithm R)."""

    def __init__(self, size: int, seed: int = SAMPLE_SEED) -> None:
        self.size, self.seen, self.kept = size, 0, []
        self._random = random.Random(seed)  # noqa: S311 (sampling, not secrets)

    def add(self, item: Any) -> None:
        if len(self.kept) < self.size:
            self.kept.append(item)
        else:
            slot = self._random.randrange(self.seen + 1)
            if slot < self.size:
                self.kept[slot] = item
        self.seen += 1


def read_table(uri: str, role: str, max_rows: int = DEFAULT_MAX_ROWS) -> Sample:
    """At most ``max_rows`` rows of a CSV, JSON-lines or Parquet file, or of all such files
    under a folder or S3 prefix."""
    if max_rows < 1:
        raise DriftInputError(f"max rows {max_rows} must be 1 or more")
    with tempfile.TemporaryDirectory(prefix="mlops-drift-") as downloads:
        files = _s3_files(uri, role, Path(downloads)) if is_s3(uri) else _local_files(
            Path(uri), role)
        reservoir = Reservoir(max_rows)
        for index, file in enumerate(files):
            for position, item in enumerate(_items(file)):
                reservoir.add((index, position, item))
        frames = [_frame(files[index], items) for index, items in _by_file(reservoir.kept)]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        raise DriftInputError(f"the {role} data {uri} holds no rows: {_what_it_needs(role)}")
    return Sample(pd.concat(frames, ignore_index=True), reservoir.seen, len(files))


def _local_files(path: Path, role: str) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and _readable(p.name))
    if path.is_file():
        rotated = [p for p in path.parent.glob(f"{path.name}.*") if ROTATED.search(p.name)]
        return [path, *sorted(rotated)]
    raise DriftInputError(f"the {role} data {path} does not exist: {_what_it_needs(role)}")


def _s3_files(uri: str, role: str, folder: Path) -> list[Path]:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3(uri)
    client = s3_client()
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


def _items(file: Path) -> Iterator[Any]:
    """The rows of ``file`` one at a time: raw JSON lines, CSV records or Parquet dicts."""
    try:
        if _format(file) == "json":
            with file.open("rb") as handle:
                yield from (line for line in handle if line.strip())
        elif _format(file) == "parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(file).iter_batches(batch_size=10_000):
                yield from batch.to_pylist()
        else:
            with file.open(newline="") as handle:
                reader = csv.reader(handle)
                next(reader, None)  # the header, read again by _frame
                yield from (row for row in reader if row)
    except (ValueError, OSError, csv.Error) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise _not_tabular(file, error) from error


def _by_file(kept: list[tuple[int, int, Any]]) -> Iterator[tuple[int, list[Any]]]:
    """The kept items grouped by file, in file order: a sample of everything is the file."""
    groups: dict[int, list[tuple[int, Any]]] = {}
    for index, position, item in kept:
        groups.setdefault(index, []).append((position, item))
    for index in sorted(groups):
        yield index, [item for _, item in sorted(groups[index], key=lambda pair: pair[0])]


def _frame(file: Path, items: list[Any]) -> pd.DataFrame:
    try:
        if _format(file) == "json":
            return pd.read_json(io.BytesIO(b"".join(_ended(items))), lines=True,
                                precise_float=True)
        if _format(file) == "parquet":
            return pd.DataFrame.from_records(items)
        with file.open(newline="") as handle:
            header = next(csv.reader(handle))
        text = io.StringIO()
        csv.writer(text).writerows([header, *items])
        return pd.read_csv(io.StringIO(text.getvalue()))
    except (ValueError, OSError, csv.Error) as error:
        raise _not_tabular(file, error) from error


def _ended(lines: list[bytes]) -> Iterator[bytes]:
    return (line if line.endswith(b"\n") else line + b"\n" for line in lines)


def _not_tabular(file: Path, error: Exception) -> DriftInputError:
    return DriftInputError(f"{file} is not valid CSV, JSON lines or Parquet: {error}")


def _what_it_needs(role: str) -> str:
    if role == "current":
        return "serve the model and send predictions first (its log is the current data)"
    return "give the training data, e.g. data/prepared/train.csv (`dvc pull` fetches it)"


def write_reports(report_dir: str, html: str, summary: dict[str, Any]) -> tuple[str, str]:
    body = json.dumps(summary, indent=2, default=_jsonable) + "\n"
    if is_s3(report_dir):
        return _upload_reports(report_dir, html, body)
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / HTML_REPORT).write_text(html)
    (folder / JSON_REPORT).write_text(body)
    return str(folder / HTML_REPORT), str(folder / JSON_REPORT)


def _upload_reports(report_dir: str, html: str, body: str) -> tuple[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_s3(report_dir)
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    client = s3_client()
    try:
        client.put_object(Bucket=bucket, Key=prefix + HTML_REPORT, Body=html.encode(),
                          ContentType="text/html")
        client.put_object(Bucket=bucket, Key=prefix + JSON_REPORT, Body=body.encode(),
                          ContentType="application/json")
    except (BotoCoreError, ClientError) as error:
        raise DriftInputError(
            f"cannot write the reports to {report_dir}: {error} "
            "(check the bucket, MLFLOW_S3_ENDPOINT_URL and the AWS_* credentials)"
        ) from error
    base = f"s3://{bucket}/{prefix}"
    return base + HTML_REPORT, base + JSON_REPORT


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
    reference: pd.DataFrame, current: pd.DataFrame, drift_share: float = DEFAULT_DRIFT_SHARE
):
    """Run Evidently's data-drift preset; returns the verdict and Evidently's snapshot."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    if not 0.0 < drift_share <= 1.0:
        raise DriftInputError(
            f"drift share {drift_share} is out of range: give the share of drifted columns "
            "(between 0 and 1, e.g. 0.5) above which the data set counts as drifted"
        )
    columns = shared_columns(reference, current)
    with warnings.catch_warnings():
        # Evidently correlates the columns of each side for its report; a column that is
        # constant in the sample makes numpy divide by zero there. The verdict comes from the
        # per-column tests, which do not use those correlations.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(numpy|scipy)\.")
        snapshot = Report([DataDriftPreset(drift_share=drift_share)]).run(
            current_data=current[columns], reference_data=reference[columns]
        )
    return _result_of(snapshot.dict(), drift_share, len(reference), len(current)), snapshot


def _result_of(
    snapshot: dict[str, Any], drift_share: float, reference_rows: int, current_rows: int
) -> DriftResult:
    metrics = snapshot["metrics"]
    count = next(m for m in metrics if m["config"]["type"].endswith("DriftedColumnsCount"))
    per_column = {
        m["config"]["column"]: _column_drift(m["config"], float(m["value"]))
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
        reference_rows=reference_rows,
        current_rows=current_rows,
    )


def _column_drift(config: dict[str, Any], score: float) -> dict[str, Any]:
    threshold = float(config["threshold"])
    # p-value tests drift below their threshold, distances above it.
    drifted = score < threshold if "p_value" in config["method"] else score >= threshold
    return {"method": config["method"], "score": score, "threshold": threshold,
            "drifted": drifted}


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
    return parser.parse_args(argv)


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
    return 1 if result.drift_detected else 0


if __name__ == "__main__":
    raise SystemExit(main())
