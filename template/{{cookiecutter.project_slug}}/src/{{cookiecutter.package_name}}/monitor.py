"""Monitoring, run by `make drift` (scheduled in CI): served inputs against the training data
by `mlops-drift`, then the champion's age against monitoring.max_model_age_days.

The served inputs are `make serve`'s log (monitoring/predictions.jsonl) unless `--current`
(`make drift CURRENT=...`) names another file, folder or s3:// URI, or `store`: what the
platform's log shippers put in its artifact store for this model
(`s3://<bucket>/monitoring/<model>/served/`), which the scheduled CI job reads.

Thin on purpose: the drift check (Evidently) lives in the pinned platform package.
Exit 0: no drift and a fresh champion; 1: drift or a stale champion (CI retrains);
2: drift could not be checked (fewer served rows than mlops-drift's minimum, a store it
cannot read, inputs it cannot use, any unexpected error; the message says which and what
to do). Nothing but a verdict exits 1, so CI never retrains on an error.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlops_platform.api import (
    PREDICTION_LOG_NAME,
    DriftInputError,
    drift_cli,
    labels_location,
    read_outputs,
    served_location,
)
from mlops_platform.api import (
    contract as ml_contract,
)

from {{ cookiecutter.package_name }}.data import TRAIN_FILE
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.platform import connect, outputs_file, tracking_server_guard
from {{ cookiecutter.package_name }}.serve import MONITORING_DIR
from {{ cookiecutter.package_name }}.steps import run_step

REPORT_DIR = f"{MONITORING_DIR}/drift"
SERVED_LOG = f"{MONITORING_DIR}/{PREDICTION_LOG_NAME}"
LABELS_DIR = f"{MONITORING_DIR}/labels"
STORE = "store"  # --current store: the platform's artifact store
STALE = 1  # like drift: CI retrains
UNUSABLE = 2  # not 1: that exit code means drift
DAY_MS = 24 * 3600 * 1000


def served_inputs(current: str) -> str:
    """The location of the served inputs `--current` names."""
    if current != STORE:
        return current
    return served_location(read_outputs(outputs_file()).artifact_store_uri,
                           load_params().model.name)


def served_and_labels(current: str | None) -> tuple[str, str]:
    """The served predictions and their labels: monitoring/, or the platform's artifact
    store's when `current` is store (what the log shippers put there)."""
    if current != STORE:
        return SERVED_LOG, LABELS_DIR
    store, model = read_outputs(outputs_file()).artifact_store_uri, load_params().model.name
    return served_location(store, model), labels_location(store, model)


def check_drift(current: str = SERVED_LOG) -> int:
    try:
        location = served_inputs(current)
    except DriftInputError as error:
        print(f"drift: {error}", file=sys.stderr)
        return UNUSABLE
    print(f"drift: served inputs from {location}")
    # --model labels the result mlops-drift pushes when MLOPS_PUSHGATEWAY_URL is set.
    return drift_cli(["--reference", str(TRAIN_FILE), "--current", location,
                      "--report-dir", REPORT_DIR, "--model", load_params().model.name])


def staleness_problem(created_ms: int, now_ms: int, max_age_days: float) -> str | None:
    """Why a model registered at `created_ms` is too old at `now_ms`, or None."""
    age_days = (now_ms - created_ms) / DAY_MS
    if age_days > max_age_days:
        return (f"the champion is {age_days:.1f} days old, more than "
                f"monitoring.max_model_age_days = {max_age_days:g}: retrain it")
    return None


def check_staleness() -> int:
    params = load_params()
    outputs = connect()
    with tracking_server_guard(outputs):
        try:
            champion = MlflowClient().get_model_version_by_alias(params.model.name,
                                                                 ml_contract.ALIAS_CHAMPION)
        except MlflowException:
            print(f"staleness: {params.model.name} has no champion yet")
            return 0
    problem = staleness_problem(int(champion.creation_timestamp), int(time.time() * 1000),
                                params.monitoring.max_model_age_days)
    print(f"staleness: {problem or f'champion version {champion.version} is fresh enough'}")
    return STALE if problem else 0


def monitor(current: str = SERVED_LOG) -> int:
    return max(check_drift(current), check_staleness())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.package_name }}.monitor",
        description="Drift of the served inputs and the champion's age. Exit 0 healthy, "
                    "1 drift or a stale champion (retrain), 2 could not check.")
    parser.add_argument("--current", default=SERVED_LOG,
                        help=f"the served inputs: a file, folder or s3:// URI, or {STORE!r} for "
                             "the platform's artifact store (<bucket>/monitoring/<model>/"
                             f"served/); default {SERVED_LOG}, make serve's log")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run_step("monitor", lambda: monitor(args.current), failure_code=UNUSABLE)
    except Exception as error:  # Python's own exit for it is 1, which means retrain
        traceback.print_exc()
        print(f"error: monitor stopped: {error}; that is no verdict (exit {UNUSABLE})",
              file=sys.stderr)
        return UNUSABLE


if __name__ == "__main__":
    raise SystemExit(main())
