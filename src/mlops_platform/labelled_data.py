"""What was learned in production, as training data: labelled served rows and their lineage.

``mlops-labelled-data --predictions monitoring/ --labels monitoring/labels/ --contract
data_contract.yaml --output data/labelled/served.csv`` joins every logged prediction with
the label of its outcome (``ground_truth.join_labels``: first label in time; unknown, repeated
and late labels are counted, never joined), keeps the rows whose inputs and label keep the
data contract, and writes them as the contract's columns, the label in the target column,
ready to be a new version of the data a project trains on (``dvc add`` it, or make it a
dependency of the prepare stage). Beside it, ``<output>.lineage.json`` says where each row
came from: the prediction ids, the model versions that served them, the time window served
and labelled (each row's ``served_at``, row for row with its id), and how many labels were
left out and why.

The promotion gate reads such a file back (``recent_window``): the rows of its latest window
of ``served_at`` are what the challenger and the champion are both scored on, besides the
held-out test split.

Locations may be ``s3://`` prefixes (``prediction_store``). Exit 0: written; 1: no labelled
row keeps the contract yet, nothing written (with ``--if-any``: exit 0, the data stays as it
is, which a scheduled retrain wants); 2: nothing could be written (an unreadable store or
contract), with the cause and the fix. Nothing half-written is left.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mlops_platform import data_contract_rules as rules
from mlops_platform.ground_truth import DEFAULT_MAX_DELAY, Joined, join_labels
from mlops_platform.prediction_log import (
    LABEL,
    LABELLED_AT,
    MODEL_NAME,
    MODEL_VERSION,
    PREDICTION_ID,
    SERVED_AT,
)
from mlops_platform.prediction_store import StoreError, read_labels, read_lines

NO_LABELLED_ROWS, UNUSABLE = 1, 2


class LabelledDataError(RuntimeError):
    """Nothing could be written; the message names the cause and the fix."""


class NoLabelledRowsError(LabelledDataError):
    """No joined row keeps the contract: there is nothing to add yet."""


@dataclass(frozen=True)
class Lineage:
    rows: int
    prediction_ids: list[str]
    served_at: list[float]  # row for row with prediction_ids
    model_versions: dict[str, list[str]]
    served_from: float
    served_to: float
    labelled_to: float
    left_out: dict[str, int]


def load_contract(path: Path) -> dict[str, Any]:
    try:
        contract = yaml.safe_load(path.read_text())
        rules.target_column(contract)
        return contract
    except (OSError, yaml.YAMLError, rules.ContractFileError, AttributeError) as error:
        raise LabelledDataError(f"the data contract {path} is unusable: {error}") from error


def training_rows(joined: Joined, contract: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    """The joined rows as the contract's columns (the label as the target), and which rows
    keep every rule of the contract."""
    target = contract["target"]
    names = [column["name"] for column in rules.input_columns(contract)]
    missing = [name for name in names if name not in joined.rows]
    if missing and not joined.rows.empty:
        raise LabelledDataError(f"the logged rows lack the contract's columns {missing}: the "
                                "log was written under another contract")
    frame = joined.rows.reindex(columns=names).assign(**{target: joined.rows[LABEL]})
    broken = {violation.row for violation in rules.check_frame(frame,
                                                              rules.check_contract(contract))
              if violation.row is not None}
    return frame, ~frame.index.isin(sorted(broken))  # a boolean array, row by row


def lineage_of(joined: Joined, kept: np.ndarray) -> Lineage:
    rows = joined.rows[kept]
    versions: dict[str, list[str]] = {}
    for name, version in sorted(set(zip(rows[MODEL_NAME].astype(str),
                                        rows[MODEL_VERSION].astype(str), strict=True))):
        versions.setdefault(name, []).append(version)
    return Lineage(rows=len(rows), prediction_ids=rows[PREDICTION_ID].tolist(),
                   served_at=rows[SERVED_AT].astype(float).tolist(), model_versions=versions,
                   served_from=float(rows[SERVED_AT].min()),
                   served_to=float(rows[SERVED_AT].max()),
                   labelled_to=float(rows[LABELLED_AT].max()),
                   left_out={"unknown-id": joined.unknown, "duplicate": joined.duplicates,
                             "late": joined.late,
                             "out-of-contract": int((~kept).sum())})


def export(predictions: str, labels: str, contract_path: Path, output: Path) -> Lineage:
    contract = load_contract(contract_path)
    try:
        joined = join_labels(read_lines(predictions), read_labels(labels), DEFAULT_MAX_DELAY)
    except StoreError as error:
        raise LabelledDataError(str(error)) from error
    frame, kept = training_rows(joined, contract)
    if not kept.any():
        raise NoLabelledRowsError(
            f"no labelled row keeps the contract ({len(joined.rows)} joined): send labels for "
            "served predictions first (mlops-labels, POST /labels)")
    lineage = lineage_of(joined, kept)
    output.parent.mkdir(parents=True, exist_ok=True)
    frame[kept].to_csv(output, index=False)
    lineage_file(output).write_text(json.dumps(asdict(lineage), indent=2) + "\n")
    return lineage


def lineage_file(output: Path) -> Path:
    return output.with_name(f"{output.stem}.lineage.json")


@dataclass(frozen=True)
class RecentWindow:
    rows: pd.DataFrame  # the contract's columns, the label in the target column
    start: float  # Unix time, aligned like mlops-performance's windows
    end: float

    def summary(self) -> dict[str, Any]:
        return {"rows": len(self.rows), "start": self.start, "end": self.end,
                "start_utc": _iso(self.start), "end_utc": _iso(self.end)}


def recent_window(output: Path, width: int, min_rows: int) -> RecentWindow | str:
    """The rows of ``output`` (as ``export`` wrote it, with its lineage) in the latest window
    of ``served_at`` that holds at least ``min_rows`` of them, or why there is none. A file
    whose lineage does not give each row's time is a LabelledDataError."""
    rows, starts, latest = _latest_full_window(output, width, min_rows)
    if isinstance(latest, str):
        return latest
    return RecentWindow(rows[starts == latest].reset_index(drop=True), latest, latest + width)


def rows_to_train_on(output: Path, width: int, min_rows: int) -> pd.DataFrame:
    """The rows of ``output`` outside ``recent_window``'s: what a project trains on, so the
    promotion gate scores challenger and champion on the recent window with rows neither was
    trained on."""
    rows, starts, latest = _latest_full_window(output, width, min_rows)
    return rows if isinstance(latest, str) else rows[starts != latest].reset_index(drop=True)


def _latest_full_window(output: Path, width: int,
                        min_rows: int) -> tuple[pd.DataFrame, np.ndarray, float | str]:
    """The rows, each row's window start, and the latest start with ``min_rows`` rows (or
    why there is none)."""
    from mlops_platform.performance import window_starts

    rows, served_at = pd.read_csv(output), _served_at(output)
    if len(served_at) != len(rows):
        raise LabelledDataError(f"{lineage_file(output)} gives {len(served_at)} times for the "
                                f"{len(rows)} rows of {output}: rebuild both with "
                                "mlops-labelled-data (make labelled-data)")
    starts = np.asarray(window_starts(pd.DataFrame({SERVED_AT: served_at}), width))
    counts = pd.Series(starts).value_counts()
    full = sorted(counts[counts >= min_rows].index)
    if not full:
        return rows, starts, (f"no window of {width} s holds {min_rows} of the {len(rows)} "
                              f"labelled rows (the most in one is "
                              f"{counts.max() if len(counts) else 0})")
    return rows, starts, float(full[-1])


def _served_at(output: Path) -> list[float]:
    try:
        return [float(value) for value in json.loads(lineage_file(output).read_text())[SERVED_AT]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LabelledDataError(f"{lineage_file(output)} does not give each row's {SERVED_AT} "
                                f"({type(error).__name__}: {error}): rebuild it with "
                                "mlops-labelled-data (make labelled-data)") from error


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlops-labelled-data",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictions", required=True,
                        help="the prediction log: a file, folder or s3:// prefix")
    parser.add_argument("--labels", required=True, help="the labels: a folder or s3:// prefix")
    parser.add_argument("--contract", required=True, type=Path, help="data_contract.yaml")
    parser.add_argument("--output", required=True, type=Path,
                        help="the CSV written (its lineage goes beside it)")
    parser.add_argument("--if-any", action="store_true",
                        help="no labelled row yet is no failure: exit 0 and leave --output as "
                        "it is")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        lineage = export(args.predictions, args.labels, args.contract, args.output)
    except NoLabelledRowsError as error:
        print(f"mlops-labelled-data: {error}; nothing was written", file=sys.stderr)
        if args.if_any:
            print(f"no new labelled rows: {args.output} stays as it is")
            return 0
        return NO_LABELLED_ROWS
    except LabelledDataError as error:
        print(f"mlops-labelled-data: {error}; nothing was written", file=sys.stderr)
        return UNUSABLE
    left_out = ", ".join(f"{count} {why}" for why, count in lineage.left_out.items() if count)
    print(f"wrote {lineage.rows} labelled rows to {args.output} (lineage: "
          f"{lineage_file(args.output)}){f'; left out: {left_out}' if left_out else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
