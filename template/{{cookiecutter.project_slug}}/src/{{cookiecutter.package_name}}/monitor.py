"""Monitoring, run by `make drift` (scheduled in CI): served inputs (monitoring/) against the
training data by `mlops-drift`, then the champion's age against monitoring.max_model_age_days.

Thin on purpose: the drift check (Evidently) lives in the pinned platform package.
Exit 0: no drift and a fresh champion; 1: drift or a stale champion (CI retrains);
2: drift could not be checked (fewer served rows than mlops-drift's minimum, or
inputs it cannot use; the message says which and what to do).
"""

from __future__ import annotations

import time

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlops_platform import contract as ml_contract
from mlops_platform.drift import main as drift_cli
from mlops_platform.serving import PREDICTION_LOG_NAME

from {{ cookiecutter.package_name }}.data import TRAIN_FILE
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.platform import connect, tracking_server_guard
from {{ cookiecutter.package_name }}.serve import MONITORING_DIR
from {{ cookiecutter.package_name }}.steps import run_step

REPORT_DIR = f"{MONITORING_DIR}/drift"
STALE = 1  # like drift: CI retrains
UNUSABLE = 2  # not 1: that exit code means drift
DAY_MS = 24 * 3600 * 1000


def check_drift() -> int:
    # --model labels the result mlops-drift pushes when MLOPS_PUSHGATEWAY_URL is set.
    return drift_cli(["--reference", str(TRAIN_FILE),
                      "--current", f"{MONITORING_DIR}/{PREDICTION_LOG_NAME}",
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


def monitor() -> int:
    return max(check_drift(), check_staleness())


def main() -> int:
    return run_step("monitor", monitor, failure_code=UNUSABLE)


if __name__ == "__main__":
    raise SystemExit(main())
