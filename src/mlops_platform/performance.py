"""Performance over time: the served predictions joined with their labels, per model version
and time window, against the value the model was promoted with.

``mlops-performance --predictions monitoring/predictions.jsonl --labels monitoring/labels/
--metric roc_auc --baseline 0.97 --report-dir monitoring/performance`` joins the prediction
log and its labels by ``prediction_id`` (the format of ``mlops_platform.prediction_log``,
read through ``mlops_platform.prediction_store``: a local file or folder, or an ``s3://``
prefix), cuts the labelled rows into windows of ``--window`` (``1d``: UTC days) by their
``served_at``, and computes per model version and window the primary metric and the quality
the task implies (classification: accuracy, precision, recall, f1; regression: mae, rmse),
with scikit-learn. A label whose id is in no logged prediction is counted as unjoined and
joined to nothing.

The verdict is on the latest window of the checked version (``--model-version``, else the
version that served the newest prediction) with at least ``--min-rows`` labelled rows: it is
degraded when the primary metric worsened from ``--baseline`` by more than the degradation
limit of the platform's rules (``governance/rules/monitoring.yaml``), which ``--max-drop``
may only tighten. ``--baseline champion`` reads the value from the registry: the metric the
champion's run logged (``MLFLOW_TRACKING_URI``), and checks that version.

Exit 0: healthy; 1: degraded; 2: could not check (an unreadable store, no window with enough
labelled rows, bad arguments), with one line naming the cause and the fix.

Reports: ``performance_report.html`` (Evidently's classification or regression preset on the
verdict's window) and ``performance_report.json`` (every window), in a folder or under an
``s3://`` prefix. With ``--pushgateway`` (or ``MLOPS_PUSHGATEWAY_URL``) a verdict is pushed
(job ``performance-monitor``, grouped by ``--model``, labelled with the checked version):
the metric, the window's labelled rows, degraded (0/1), the newest joined label's age and
the time of this success. A check without verdict pushes nothing, so the last success ages.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mlops_platform.client.platform_rules import (
    DegradationRule,
    PlatformRulesError,
    degradation_rule,
)
from mlops_platform.drift import DriftInputError, write_reports
from mlops_platform.ground_truth import join_labels
from mlops_platform.monitoring.catalog import (
    MODEL_PERFORMANCE,
    MODEL_PERFORMANCE_DEGRADED,
    MODEL_PERFORMANCE_LABEL_AGE,
    MODEL_PERFORMANCE_ROWS,
    PERFORMANCE_JOB,
    PERFORMANCE_LAST_SUCCESS,
)
from mlops_platform.monitoring.collectors import (
    PUSHGATEWAY_HELP,
    default_pushgateway,
    push_job_result,
)
from mlops_platform.prediction_log import (
    LABEL,
    LABELLED_AT,
    MODEL_VERSION,
    PREDICTION,
    PREDICTION_ID,
    SERVED_AT,
    model_of_served,
)
from mlops_platform.prediction_store import StoreError, read_labels, read_lines

PROGRAM = "mlops-performance"
HTML_REPORT = "performance_report.html"
JSON_REPORT = "performance_report.json"
DEFAULT_WINDOW = "1d"
# Fewer labelled rows than this and a window's metric moves by more than the degradation
# limit from the luck of which rows got labels (the standard error of an accuracy near 0.9
# on 30 rows is about 0.05): no verdict on it.
DEFAULT_MIN_ROWS = 30
CHAMPION = "champion"
HEALTHY, DEGRADED, UNCHECKED = 0, 1, 2

CLASSIFICATION_QUALITY = ("accuracy", "precision", "recall", "f1")
REGRESSION_QUALITY = ("mae", "rmse")
CLASSIFICATION_METRICS = ("roc_auc", *CLASSIFICATION_QUALITY)
REGRESSION_METRICS = ("rmse", "mae", "r2")
METRICS = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)
_WINDOW = re.compile(r"^(\d+)([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


class PerformanceInputError(ValueError):
    """The check cannot run on these inputs; the message names the input and the fix."""


# --- reading and joining ---------------------------------------------------------------------


@dataclass(frozen=True)
class Joined:
    """The labelled predictions, and what did not join."""

    rows: pd.DataFrame  # prediction_id, prediction, model_version, served_at, label, labelled_at
    predictions: int
    labels: int
    unjoined_labels: int
    duplicate_labels: int
    late_labels: int
    newest_version: str | None  # the version of the newest prediction logged, labelled or not


def read_joined(predictions_uri: str, labels_uri: str) -> Joined:
    try:
        predictions = read_lines(predictions_uri)
        labels = read_labels(labels_uri)
    except StoreError as error:
        raise PerformanceInputError(str(error)) from error
    if predictions.empty:
        raise PerformanceInputError(
            f"the prediction log {predictions_uri} holds no predictions: serve the model (or "
            "score a batch) first, or give the location the log is shipped to")
    _require(predictions, (PREDICTION_ID, PREDICTION, MODEL_VERSION, SERVED_AT), predictions_uri)
    _require(labels, (PREDICTION_ID, LABEL, LABELLED_AT), labels_uri)
    return join(predictions, labels)


def _require(frame: pd.DataFrame, columns: Sequence[str], uri: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise PerformanceInputError(
            f"{uri} has no {', '.join(missing)} column: it is not in the prediction-log format "
            "(mlops_platform.prediction_log); give the log the serving runtime or batch "
            "scoring wrote, and labels sent with mlops-labels")


def join(predictions: pd.DataFrame, labels: pd.DataFrame) -> Joined:
    """Each prediction with the label of its outcome, as ``ground_truth.join_labels`` joins
    them (the first label in time counts; unknown, repeated and late labels join nothing)."""
    logged = predictions.drop_duplicates(PREDICTION_ID)[
        [PREDICTION_ID, PREDICTION, MODEL_VERSION, SERVED_AT]]
    logged = logged.assign(**{SERVED_AT: pd.to_numeric(logged[SERVED_AT], errors="coerce"),
                              MODEL_VERSION: logged[MODEL_VERSION].astype(str)})
    joined = join_labels(logged, labels)
    rows = joined.rows[[PREDICTION_ID, PREDICTION, MODEL_VERSION, SERVED_AT, LABEL, LABELLED_AT]]
    return Joined(rows=rows.dropna(subset=[SERVED_AT, LABEL, PREDICTION]).reset_index(drop=True),
                  predictions=len(logged), labels=len(labels) - joined.duplicates,
                  unjoined_labels=joined.unknown, duplicate_labels=joined.duplicates,
                  late_labels=joined.late, newest_version=_newest_version(logged))


def _newest_version(logged: pd.DataFrame) -> str | None:
    served = logged.dropna(subset=[SERVED_AT])
    return None if served.empty else str(served.loc[served[SERVED_AT].idxmax(), MODEL_VERSION])


# --- windows and metrics ---------------------------------------------------------------------


def window_seconds(text: str) -> int:
    found = _WINDOW.match(text)
    if not found or int(found.group(1)) == 0:
        raise PerformanceInputError(
            f"window {text!r} is not a duration: give a number and a unit, m, h or d (e.g. "
            f"1h, 7d; default {DEFAULT_WINDOW})")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)]


def task_of(metric: str) -> str:
    if metric in CLASSIFICATION_METRICS:
        return "classification"
    if metric in REGRESSION_METRICS:
        return "regression"
    raise PerformanceInputError(f"metric {metric!r} is not one the check computes: one of "
                                f"{', '.join(METRICS)}")


@dataclass(frozen=True)
class Window:
    model_version: str
    start: float  # Unix time; windows are aligned to the epoch (1d: UTC midnight)
    end: float
    labelled_rows: int
    metrics: dict[str, float | None]
    not_computable: dict[str, str] = field(default_factory=dict)  # metric: why

    def label(self) -> str:
        return f"version {self.model_version}, {_iso(self.start)} to {_iso(self.end)}"

    def summary(self) -> dict[str, Any]:
        return {**asdict(self), "start_utc": _iso(self.start), "end_utc": _iso(self.end)}


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def windows(rows: pd.DataFrame, metric: str, width: int) -> list[Window]:
    """Every model version's windows that hold labelled rows, oldest first."""
    starts = window_starts(rows, width)
    found = []
    for (version, start), group in rows.groupby([rows[MODEL_VERSION], starts], sort=True):
        values, reasons = quality(group[LABEL], group[PREDICTION], metric)
        found.append(Window(str(version), float(start), float(start) + width, len(group), values,
                            reasons))
    return sorted(found, key=lambda window: (window.start, window.model_version))


def window_starts(rows: pd.DataFrame, width: int) -> np.ndarray:
    """The start of each row's window (by ``served_at``; windows are aligned to the epoch)."""
    return np.floor(rows[SERVED_AT].to_numpy(dtype=float) / width) * width


def rows_of(rows: pd.DataFrame, window: Window) -> pd.DataFrame:
    starts = window_starts(rows, int(window.end - window.start))
    return rows[(rows[MODEL_VERSION] == window.model_version) & (starts == window.start)]


def quality(labels: pd.Series, predictions: pd.Series,
            metric: str) -> tuple[dict[str, float | None], dict[str, str]]:
    """The primary metric and the task's quality metrics; None for one that cannot be
    computed on these rows, with the reason."""
    if task_of(metric) == "regression":
        truth, predicted = _numbers(labels), _numbers(predictions)
        names = list(dict.fromkeys((metric, *REGRESSION_QUALITY)))
        return _computed(names, lambda name: REGRESSION[name](truth, predicted))
    truth, predicted = same_typed_classes(labels, predictions)
    classes = set(truth) | set(predicted)
    average = "binary" if classes <= {0, 1} else "macro"
    names = list(dict.fromkeys((metric, *CLASSIFICATION_QUALITY)))
    return _computed(names, lambda name: _classification(name, truth, predicted, average))


def _computed(names: list[str], compute: Callable[[str], float | str]):
    values: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    for name in names:
        value = compute(name)
        if isinstance(value, str):
            values[name], reasons[name] = None, value
        else:
            values[name] = float(value)
    return values, reasons


def _numbers(column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    if values.isna().any():
        raise PerformanceInputError(
            f"a regression metric needs numbers, and {column.name} holds "
            f"{column[values.isna()].iloc[0]!r}: check --metric (a classifier's are "
            f"{', '.join(CLASSIFICATION_METRICS)})")
    return values.to_numpy(dtype=float)


def same_typed_classes(labels: pd.Series,
                       predictions: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions as values of one type: numbers when both are, else text (a
    label 1 and a prediction 1.0 are the same class)."""
    truth, predicted = pd.to_numeric(labels, errors="coerce"), pd.to_numeric(
        predictions, errors="coerce")
    if not (truth.isna().any() or predicted.isna().any()):
        return truth.to_numpy(dtype=float), predicted.to_numpy(dtype=float)
    return labels.astype(str).to_numpy(), predictions.astype(str).to_numpy()


def _classification(name: str, truth: np.ndarray, predicted: np.ndarray,
                    average: str) -> float | str:
    from sklearn import metrics

    if name == "roc_auc":
        if len(set(truth)) < 2:
            return (f"roc_auc needs both classes among the labels, and this window's are all "
                    f"{truth[0]!r}")
        if average != "binary":
            return ("roc_auc of more than two classes needs class probabilities, and the log "
                    "holds labels")
        return metrics.roc_auc_score(truth, predicted)
    if name == "accuracy":
        return metrics.accuracy_score(truth, predicted)
    scorer = {"precision": metrics.precision_score, "recall": metrics.recall_score,
              "f1": metrics.f1_score}[name]
    return scorer(truth, predicted, average=average, zero_division=0.0)


REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": lambda truth, predicted: _sklearn("mean_absolute_error")(truth, predicted),
    "rmse": lambda truth, predicted: _sklearn("root_mean_squared_error")(truth, predicted),
    "r2": lambda truth, predicted: _r2(truth, predicted),
}


def _sklearn(name: str) -> Callable[..., float]:
    from sklearn import metrics

    return getattr(metrics, name)


def _r2(truth: np.ndarray, predicted: np.ndarray) -> float | str:
    if len(truth) < 2 or np.all(truth == truth[0]):
        return "r2 needs labels that vary, and this window's are all equal"
    return _sklearn("r2_score")(truth, predicted)


# --- the verdict -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    window: Window
    metric: str
    value: float
    baseline: float
    rule: DegradationRule

    @property
    def degraded(self) -> bool:
        return self.rule.degraded(self.value, self.baseline)

    def line(self) -> str:
        word = "DEGRADED" if self.degraded else "healthy"
        return (f"{word}: {self.metric} {self.value:.4f} on {self.window.labelled_rows} labelled "
                f"rows ({self.window.label()}); promoted with {self.baseline:.4f}, degraded "
                f"beyond {self.rule.bar(self.baseline):.4f} (max drop {self.rule.max_drop:g})")

    def summary(self) -> dict[str, Any]:
        return {"degraded": self.degraded, "metric": self.metric, "value": self.value,
                "baseline": self.baseline, "max_drop": self.rule.max_drop,
                "bar": self.rule.bar(self.baseline), "window": self.window.summary()}


def verdict(found: list[Window], version: str, metric: str, baseline: float,
            rule: DegradationRule, min_rows: int) -> Verdict:
    """On the latest window of ``version`` with ``min_rows`` labelled rows."""
    own = [window for window in found if window.model_version == version]
    enough = [window for window in own if window.labelled_rows >= min_rows]
    if not enough:
        most = max((window.labelled_rows for window in own), default=0)
        raise PerformanceInputError(
            f"no window of version {version} has {min_rows} labelled rows (--min-rows; the "
            f"most in one is {most}): send more labels (mlops-labels), widen --window, or "
            "check that the labels' ids are those of this version's predictions")
    latest = enough[-1]
    value = latest.metrics.get(metric)
    if value is None:
        raise PerformanceInputError(
            f"{metric} is not computable on {latest.label()}: {latest.not_computable[metric]}; "
            "wait for labels of both kinds, or widen --window")
    return Verdict(latest, metric, value, baseline, rule)


# --- the report ------------------------------------------------------------------------------


def evidently_report(rows: pd.DataFrame, metric: str):
    """Evidently's classification or regression preset on one window's labelled rows, and
    None; or, where Evidently cannot build it, its data summary and why."""
    from evidently import (
        BinaryClassification,
        DataDefinition,
        Dataset,
        MulticlassClassification,
        Regression,
        Report,
    )
    from evidently.presets import ClassificationPreset, DataSummaryPreset, RegressionPreset

    frame = rows[[LABEL, PREDICTION]].rename(columns={LABEL: "target", PREDICTION: "prediction"})
    if task_of(metric) == "regression":
        frame = frame.astype(float)
        definition = DataDefinition(regression=[Regression(target="target",
                                                           prediction="prediction")],
                                    numerical_columns=["target", "prediction"])
        preset = RegressionPreset()
    else:
        truth, predicted = same_typed_classes(frame["target"], frame["prediction"])
        frame = pd.DataFrame({"target": truth, "prediction": predicted})
        binary = set(truth) | set(predicted) <= {0, 1}
        kind = BinaryClassification if binary else MulticlassClassification
        if binary:
            frame = frame.astype(int)
        definition = DataDefinition(
            classification=[kind(target="target", prediction_labels="prediction")],
            categorical_columns=["target", "prediction"])
        preset = ClassificationPreset()
    data = Dataset.from_pandas(frame, data_definition=definition)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        try:
            return Report([preset]).run(current_data=data), None
        except ValueError as error:
            # Evidently's classification preset fails when labels and predictions hold one
            # class only (no TPR to compute): its summary of the two columns still shows them.
            return Report([DataSummaryPreset()]).run(current_data=data), str(error)


# --- running it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    joined: Joined
    windows: list[Window]
    verdict: Verdict
    newest_label_at: float | None


def check(predictions_uri: str, labels_uri: str, metric: str, baseline: float,
          rule: DegradationRule, window: str = DEFAULT_WINDOW, min_rows: int = DEFAULT_MIN_ROWS,
          version: str | None = None) -> Check:
    width = window_seconds(window)
    if min_rows < 1:
        raise PerformanceInputError(f"--min-rows {min_rows} must be 1 or more")
    joined = read_joined(predictions_uri, labels_uri)
    version = version or joined.newest_version
    if joined.rows.empty or version is None:
        raise PerformanceInputError(
            f"no label in {labels_uri} joins a prediction in {predictions_uri} "
            f"({joined.labels} labels, {joined.unjoined_labels} of unknown ids): send labels "
            "by the prediction_id each answer returned (mlops-labels)")
    found = windows(joined.rows, metric, width)
    result = verdict(found, version, metric, baseline, rule, min_rows)
    of_version = joined.rows[joined.rows[MODEL_VERSION] == version]
    newest = pd.to_numeric(of_version[LABELLED_AT], errors="coerce").max()
    return Check(joined, found, result, None if pd.isna(newest) else float(newest))


def roc_auc_on_classes(result: Check) -> bool:
    """Whether the verdict's roc_auc ranks predicted classes, not scores: the log holds what
    the model answered, so its area is the balanced accuracy, below the roc_auc the model was
    promoted with on probabilities (0.970 against 0.997 for the template's breast-cancer
    model)."""
    if result.verdict.metric != "roc_auc":
        return False
    predicted = pd.to_numeric(rows_of(result.joined.rows, result.verdict.window)[PREDICTION],
                              errors="coerce")
    return bool(predicted.isin([0, 1]).all())


def summary(result: Check, predictions_uri: str, labels_uri: str) -> dict[str, Any]:
    joined = result.joined
    return {**result.verdict.summary(), "roc_auc_on_classes": roc_auc_on_classes(result),
            "predictions": predictions_uri, "labels": labels_uri,
            "joined_rows": len(joined.rows), "logged_predictions": joined.predictions,
            "labels_read": joined.labels, "unjoined_labels": joined.unjoined_labels,
            "duplicate_labels": joined.duplicate_labels, "late_labels": joined.late_labels,
            "newest_label_at": result.newest_label_at,
            "windows": [window.summary() for window in result.windows]}


def report(result: Check, predictions_uri: str, labels_uri: str,
           report_dir: str) -> tuple[str, str]:
    snapshot, not_built = evidently_report(rows_of(result.joined.rows, result.verdict.window),
                                           result.verdict.metric)
    body = {**summary(result, predictions_uri, labels_uri), "evidently": snapshot.dict()}
    if not_built:
        body["evidently_preset_not_built"] = not_built
    try:
        return write_reports(report_dir, snapshot.get_html_str(as_iframe=False), body,
                             names=(HTML_REPORT, JSON_REPORT))
    except DriftInputError as error:
        raise PerformanceInputError(str(error)) from error


def promoted_baseline(model: str, metric: str) -> tuple[str, float]:
    """The champion's version of ``model`` and the ``metric`` its run logged (the value the
    promotion gate compared), from the registry at ``MLFLOW_TRACKING_URI``."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from mlops_platform.client.registry import champion_version, version_facts

    client = MlflowClient()
    try:
        version = champion_version(client, model)
        if version is None:
            raise PerformanceInputError(
                f"registered model {model!r} has no champion at {client.tracking_uri}: promote "
                "one first (make promote), or give --baseline as a number")
        logged = version_facts(client, model, version).metrics
    except MlflowException as error:
        raise PerformanceInputError(
            f"cannot read the champion of {model!r} from {client.tracking_uri}: {error} (check "
            "MLFLOW_TRACKING_URI, or give --baseline as a number)") from error
    if metric not in logged:
        raise PerformanceInputError(
            f"the run of {model} version {version} logged no {metric} (it has "
            f"{', '.join(sorted(logged)) or 'no metric'}): give --metric the project's primary "
            "metric, or --baseline as a number")
    return version, float(logged[metric])


def push_result(result: Check, gateway: str, model: str) -> bool:
    now = time.time()
    outcome = result.verdict
    values = {MODEL_PERFORMANCE: outcome.value,
              MODEL_PERFORMANCE_ROWS: float(outcome.window.labelled_rows),
              MODEL_PERFORMANCE_DEGRADED: float(outcome.degraded),
              PERFORMANCE_LAST_SUCCESS: now}
    if result.newest_label_at is not None:
        values[MODEL_PERFORMANCE_LABEL_AGE] = max(0.0, now - result.newest_label_at)
    # Grouped by model only: the next push replaces a retired version's series.
    return push_job_result(PROGRAM, gateway, PERFORMANCE_JOB, values, {"model": model},
                           {"version": outcome.window.model_version})


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="The live model's quality over time, from its predictions joined with "
        "their labels. Exit 0: healthy, 1: degraded, 2: could not check.")
    parser.add_argument("--predictions", required=True,
                        help="the prediction log: file, folder or s3:// prefix")
    parser.add_argument("--labels", required=True, help="its labels: file, folder or s3:// prefix")
    parser.add_argument("--metric", required=True, choices=METRICS,
                        help="the project's primary metric (the one it promotes on)")
    parser.add_argument("--baseline", required=True,
                        help="the value the model was promoted with, or `champion`: the "
                        "champion's logged metric from the registry (MLFLOW_TRACKING_URI)")
    parser.add_argument("--report-dir", required=True, help="folder or s3:// URI for the reports")
    parser.add_argument("--window", default=DEFAULT_WINDOW,
                        help=f"width of a window of served_at, e.g. 1h, 1d (default "
                        f"{DEFAULT_WINDOW}; aligned to UTC midnight)")
    parser.add_argument("--min-rows", type=int, default=DEFAULT_MIN_ROWS,
                        help="labelled rows a window needs for a verdict (default "
                        f"{DEFAULT_MIN_ROWS})")
    parser.add_argument("--max-drop", type=float, default=None,
                        help="the project's degradation limit: at most the platform's "
                        "(governance/rules/monitoring.yaml), which is the default")
    parser.add_argument("--model-version", help="the version to judge (default: the champion "
                        "with --baseline champion, else the version of the newest prediction)")
    parser.add_argument("--pushgateway", metavar="URL", default=default_pushgateway(),
                        help=PUSHGATEWAY_HELP)
    parser.add_argument("--model", help="the registered model: the `model` label of what is "
                        "pushed, and the model of --baseline champion (default: <model> of "
                        "--predictions under monitoring/<model>/served/)")
    args = parser.parse_args(argv)
    args.model = args.model or model_of_served(args.predictions)
    if (args.pushgateway or args.baseline == CHAMPION) and not args.model:
        parser.error("--model is needed (to push, or to find the champion); --predictions "
                     f"{args.predictions} does not name it as monitoring/<model>/served/")
    return args


def baseline_of(args: argparse.Namespace) -> tuple[float, str | None]:
    if args.baseline == CHAMPION:
        version, value = promoted_baseline(args.model, args.metric)
        return value, args.model_version or version
    try:
        value = float(args.baseline)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise PerformanceInputError(
            f"--baseline {args.baseline!r} is neither a number nor `champion`: give the value "
            "the model was promoted with (e.g. 0.95), or `champion` to read it from the registry")
    return value, args.model_version


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        rule = degradation_rule(args.metric, args.max_drop)
        baseline, version = baseline_of(args)
        result = check(args.predictions, args.labels, args.metric, baseline, rule, args.window,
                       args.min_rows, version)
        html_path, json_path = report(result, args.predictions, args.labels, args.report_dir)
    except (PerformanceInputError, PlatformRulesError) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return UNCHECKED
    joined = result.joined
    print(result.verdict.line())
    print(f"joined {len(joined.rows)} labelled predictions of {joined.predictions} logged, in "
          f"{len(result.windows)} windows; {joined.unjoined_labels} labels of unknown ids "
          f"(not joined), {joined.duplicate_labels} repeated labels (the first counts), "
          f"{joined.late_labels} late")
    if roc_auc_on_classes(result):
        print("note: the log holds predicted classes, not scores, so this roc_auc is the "
              "balanced accuracy and reads below one computed on probabilities")
    print(f"reports: {html_path} {json_path}")
    if args.pushgateway:
        push_result(result, args.pushgateway, args.model)
    return DEGRADED if result.verdict.degraded else HEALTHY


if __name__ == "__main__":
    raise SystemExit(main())
