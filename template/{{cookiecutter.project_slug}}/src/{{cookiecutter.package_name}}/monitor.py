"""Drift monitoring: served inputs (monitoring/) against the training data, by `mlops-drift`.

Thin on purpose: the drift check (Evidently) lives in the pinned platform package.
Exit 0: no drift, 1: drift (CI retrains), 2: the inputs cannot be used.
"""

from __future__ import annotations

from mlops_platform.drift import main as drift_cli
from mlops_platform.serving import PREDICTION_LOG_NAME

from {{ cookiecutter.package_name }}.data import TRAIN_FILE
from {{ cookiecutter.package_name }}.serve import MONITORING_DIR
from {{ cookiecutter.package_name }}.steps import run_step

REPORT_DIR = f"{MONITORING_DIR}/drift"
UNUSABLE = 2  # not 1: that exit code means drift


def check_drift() -> int:
    return drift_cli(["--reference", str(TRAIN_FILE),
                      "--current", f"{MONITORING_DIR}/{PREDICTION_LOG_NAME}",
                      "--report-dir", REPORT_DIR])


def main() -> int:
    return run_step("monitor", check_drift, failure_code=UNUSABLE)


if __name__ == "__main__":
    raise SystemExit(main())
