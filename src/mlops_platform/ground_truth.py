"""The label intake: outcomes come back by prediction id; each is answered, good ones are kept.

``mlops-labels labels.csv --predictions monitoring/ --labels monitoring/labels/
--contract data_contract.yaml`` reads a CSV of ``prediction_id,label`` and answers every
label with one outcome, checked in this order:

- ``unknown-id``: no prediction in the log (``--predictions``) has this id;
- ``duplicate``: the prediction is already labelled (``--labels``), or its id is given more
  than once in this file (every such row is refused: which value is right is not ours to pick);
- ``late``: the label comes more than ``--max-delay-days`` (``DEFAULT_MAX_DELAY``, 30 days)
  after its prediction's ``served_at``;
- ``out-of-contract``: the label breaks the rule of the data contract's target column, or is
  empty;
- ``accepted``: none of the above.

Everything is checked before anything is written; the accepted labels are then appended in
one write, as ``mlops_platform.prediction_log.label_lines`` (a refused label is never
written). Exit 0: every label accepted; 1: some refused (the accepted ones are stored);
2: nothing could be checked (an unreadable store, CSV or contract) and nothing was written.
Both locations may be ``s3://`` prefixes (``prediction_store``), e.g. a cluster's
``s3://<bucket>/monitoring/<model>/served/`` and ``.../labels/``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from mlops_platform import data_contract_rules
from mlops_platform.prediction_log import (
    LABEL,
    LABELLED_AT,
    PREDICTION_ID,
    SERVED_AT,
    label_lines,
)
from mlops_platform.prediction_store import StoreError, append_labels, read_labels, read_lines

DEFAULT_MAX_DELAY = timedelta(days=30)
LABEL_COLUMN = "label"
CSV_COLUMNS = (PREDICTION_ID, LABEL_COLUMN)

ACCEPTED = "accepted"
UNKNOWN_ID = "unknown-id"
DUPLICATE = "duplicate"
LATE = "late"
OUT_OF_CONTRACT = "out-of-contract"
REFUSALS = (UNKNOWN_ID, DUPLICATE, LATE, OUT_OF_CONTRACT)  # the order they are checked in
OUTCOMES = (ACCEPTED, *REFUSALS)

_FIXES = {
    UNKNOWN_ID: "send an id from the `prediction_ids` the server answered, and check that "
                "--predictions is that server's log",
    DUPLICATE: "a prediction takes one label and a stored one is never replaced: send each "
               "id once",
    LATE: "labels this late are not joined; if outcomes take longer, raise --max-delay-days",
    OUT_OF_CONTRACT: "send a value the target column of the data contract allows",
}


class IntakeError(RuntimeError):
    """Labels that could not be checked; the message names the input and the fix."""


@dataclass(frozen=True)
class Label:
    """One label sent back: the row it came on (``line`` of the CSV) and its parsed value."""

    prediction_id: str
    value: Any
    line: int


@dataclass(frozen=True)
class Verdict:
    label: Label
    outcome: str
    detail: str = ""

    def line(self) -> str:
        """The answer to a refused label: which one, why, and what to do."""
        return (f"line {self.label.line}, prediction_id {self.label.prediction_id!r}: "
                f"{self.outcome}: {self.detail}; {_FIXES[self.outcome]}")


@dataclass(frozen=True)
class Intake:
    verdicts: list[Verdict]
    written_to: str | None

    @property
    def refused(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if verdict.outcome != ACCEPTED]

    def counts(self) -> dict[str, int]:
        found = Counter(verdict.outcome for verdict in self.verdicts)
        return {outcome: found[outcome] for outcome in OUTCOMES}

    def report(self) -> str:
        counts = self.counts()
        where = f", written to {self.written_to}" if self.written_to else ""
        lines = [f"{ACCEPTED}: {counts[ACCEPTED]}{where}"]
        lines += [f"refused as {outcome}: {counts[outcome]}" for outcome in REFUSALS]
        return "\n".join(lines + [verdict.line() for verdict in self.refused])

    def exit_code(self) -> int:
        return 1 if self.refused else 0


# --- the checks ----------------------------------------------------------------------------


def classify(labels: Sequence[Label], predictions: pd.DataFrame, stored: pd.DataFrame,
             target: dict[str, Any], labelled_at: float,
             max_delay: timedelta = DEFAULT_MAX_DELAY) -> list[Verdict]:
    """Every label's outcome, in the labels' order. ``predictions``: the prediction log;
    ``stored``: the labels already kept; ``target``: the contract's target column."""
    served = served_times(predictions)
    stored_ids = set(stored[PREDICTION_ID].astype(str)) if PREDICTION_ID in stored else set()
    lines_of = _lines_by_id(labels)
    contract_problems = _contract_problems(labels, target)
    verdicts = []
    for index, label in enumerate(labels):
        outcome, detail = _first_refusal(label, served, stored_ids, lines_of, labelled_at,
                                         max_delay) or _contract_refusal(contract_problems, index)
        verdicts.append(Verdict(label, outcome, detail))
    return verdicts


@dataclass(frozen=True)
class Joined:
    """Prediction lines with the label of their outcome, and the labels that joined none."""

    rows: pd.DataFrame  # the prediction log's columns and ``label``, ``labelled_at``
    unknown: int  # labels whose id no logged prediction has
    duplicates: int  # later labels of an id already labelled (the first one counts)
    late: int  # labels that came more than the allowed delay after their prediction


def join_labels(predictions: pd.DataFrame, labels: pd.DataFrame,
                max_delay: timedelta = DEFAULT_MAX_DELAY) -> Joined:
    """Each labelled prediction once, with its first label in time; what did not join is
    counted, never joined. Labels the intake took are already clean; the server's
    ``POST /labels`` cannot check ids, so every check is made again here."""
    if labels.empty or PREDICTION_ID not in predictions or SERVED_AT not in predictions:
        return Joined(predictions.iloc[0:0].assign(**{LABEL: [], LABELLED_AT: []}),
                      0, 0, 0)
    ordered = labels.assign(**{PREDICTION_ID: labels[PREDICTION_ID].astype(str)}).sort_values(
        LABELLED_AT, kind="stable")
    first = ordered.drop_duplicates(PREDICTION_ID, keep="first")
    logged = predictions[predictions[PREDICTION_ID].notna()].assign(
        **{PREDICTION_ID: predictions[PREDICTION_ID].astype(str)}).drop_duplicates(PREDICTION_ID)
    merged = logged.merge(first[[PREDICTION_ID, LABEL, LABELLED_AT]], on=PREDICTION_ID)
    late = (merged[LABELLED_AT] - merged[SERVED_AT]) > max_delay.total_seconds()
    return Joined(merged[~late].reset_index(drop=True), unknown=len(first) - len(merged),
                  duplicates=len(ordered) - len(first), late=int(late.sum()))


def served_times(predictions: pd.DataFrame) -> dict[str, float]:
    """Each logged prediction id's ``served_at`` (lines of other kinds are left out)."""
    if PREDICTION_ID not in predictions or SERVED_AT not in predictions:
        return {}
    logged = predictions[predictions[PREDICTION_ID].notna() & predictions[SERVED_AT].notna()]
    return logged.groupby(logged[PREDICTION_ID].astype(str))[SERVED_AT].min().to_dict()


def _lines_by_id(labels: Sequence[Label]) -> dict[str, list[int]]:
    lines: dict[str, list[int]] = {}
    for label in labels:
        lines.setdefault(label.prediction_id, []).append(label.line)
    return lines


def _first_refusal(label: Label, served: dict[str, float], stored_ids: set[str],
                   lines_of: dict[str, list[int]], labelled_at: float,
                   max_delay: timedelta) -> tuple[str, str] | None:
    if label.prediction_id not in served:
        return UNKNOWN_ID, "no prediction in the log has this id"
    if label.prediction_id in stored_ids:
        return DUPLICATE, "this prediction is already labelled"
    if len(lines_of[label.prediction_id]) > 1:
        lines = ", ".join(str(line) for line in lines_of[label.prediction_id])
        return DUPLICATE, f"this id is given on lines {lines} of this file"
    delay = labelled_at - served[label.prediction_id]
    if delay > max_delay.total_seconds():
        return LATE, (f"labelled {delay / 86400:.1f} days after it was served, more than the "
                      f"{max_delay.total_seconds() / 86400:g} days allowed")
    return None


def _contract_problems(labels: Sequence[Label], target: dict[str, Any]) -> dict[int, str]:
    """What breaks the target column's rule, by the label's position."""
    values = pd.Series([label.value for label in labels], dtype=object)
    problems = {index: "the label is empty" for index, value in enumerate(values)
                if _is_missing(value)}
    for violation in data_contract_rules.check_column(values, target):
        problems.setdefault(violation.row, f"target {target['name']!r}: {violation.detail}")
    return problems


def _contract_refusal(problems: dict[int, str], index: int) -> tuple[str, str]:
    return (OUT_OF_CONTRACT, problems[index]) if index in problems else (ACCEPTED, "")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# --- the inputs ----------------------------------------------------------------------------


def load_target(contract: Path) -> dict[str, Any]:
    """The target column of the data contract at ``contract``."""
    import yaml

    try:
        return data_contract_rules.target_column(yaml.safe_load(contract.read_text()))
    except OSError as error:
        raise IntakeError(f"cannot read the data contract {contract}: {error.strerror} (give "
                          "the project's data_contract.yaml with --contract)") from error
    except (yaml.YAMLError, data_contract_rules.ContractFileError) as error:
        raise IntakeError(f"the data contract {contract} is not usable: "
                          f"{' '.join(str(error).split())}") from error


def read_csv(path: Path, dtype: str) -> list[Label]:
    """The labels of a CSV with a header row naming ``prediction_id`` and ``label``; each
    value read as the target's ``dtype`` where it can be (else kept as text, which the
    contract check then refuses by name)."""
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            _check_header(path, reader.fieldnames)
            return [Label((row[PREDICTION_ID] or "").strip(), parse_value(row[LABEL_COLUMN], dtype),
                          reader.line_num) for row in reader]
    except OSError as error:
        raise IntakeError(f"cannot read {path}: {error.strerror}") from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise IntakeError(f"{path} is not a CSV file: {error}") from error


def _check_header(path: Path, columns: Sequence[str] | None) -> None:
    missing = [column for column in CSV_COLUMNS if column not in (columns or ())]
    if missing:
        raise IntakeError(f"{path} has no column {', '.join(missing)}: its first line must be "
                          f"the header {','.join(CSV_COLUMNS)}")


def parse_value(text: str | None, dtype: str) -> Any:
    """A CSV cell as the target's type: ``"1"`` is 1 for an int target, ``""`` None."""
    if text is None or not text.strip():
        return None
    if dtype == "str":
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if dtype == "int" and number.is_integer() else number


# --- the intake ----------------------------------------------------------------------------


def take_labels(labels: Sequence[Label], predictions: str, labels_location: str,
                target: dict[str, Any], max_delay: timedelta = DEFAULT_MAX_DELAY,
                now: float | None = None) -> Intake:
    """Check every label against the log at ``predictions`` and the labels stored at
    ``labels_location``, then store the accepted ones there in one write."""
    logged = read_lines(predictions)
    if not served_times(logged):
        raise IntakeError(f"no prediction with an id is logged at {predictions}: give the "
                          "log the server writes (a project's monitoring/, or the store's "
                          "monitoring/<model>/served/)")
    labelled_at = time.time() if now is None else now
    verdicts = classify(labels, logged, read_labels(labels_location), target, labelled_at,
                        max_delay)
    accepted = [(verdict.label.prediction_id, verdict.label.value) for verdict in verdicts
                if verdict.outcome == ACCEPTED]
    written = (append_labels(labels_location, label_lines(accepted, labelled_at))
               if accepted else None)
    return Intake(verdicts, written)


# --- command line --------------------------------------------------------------------------


def _days(text: str) -> timedelta:
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not days > 0 or math.isinf(days):
        raise argparse.ArgumentTypeError(f"{text!r} is no positive number of days")
    return timedelta(days=days)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mlops-labels",
        description="Store labels sent back by prediction id, after checking each one. "
        "Exit 0: all accepted, 1: some refused (the others stored), 2: could not check.",
    )
    parser.add_argument("csv", type=Path, help="the labels: a CSV with columns "
                        f"{','.join(CSV_COLUMNS)}")
    parser.add_argument("--predictions", required=True,
                        help="the prediction log: file, folder or s3:// prefix")
    parser.add_argument("--labels", required=True,
                        help="where labels are kept: folder or s3:// prefix")
    parser.add_argument("--contract", type=Path, required=True,
                        help="the project's data_contract.yaml (its target column)")
    parser.add_argument("--max-delay-days", type=_days, default=DEFAULT_MAX_DELAY,
                        dest="max_delay", metavar="DAYS",
                        help="a label later than this after its prediction is refused "
                        f"(default {DEFAULT_MAX_DELAY.days})")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = load_target(args.contract)
        labels = read_csv(args.csv, target["dtype"])
        intake = take_labels(labels, args.predictions, args.labels, target, args.max_delay)
    except (IntakeError, StoreError, OSError) as error:
        print(f"mlops-labels: {error}; nothing was stored", file=sys.stderr)
        return 2
    print(intake.report())
    return intake.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
