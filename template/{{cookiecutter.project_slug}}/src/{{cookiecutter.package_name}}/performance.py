"""Performance over time, run by `make performance`: the served predictions (monitoring/)
joined with the labels sent back for them (monitoring/labels/), per model version and day,
against the primary metric the champion was promoted with, by `mlops-performance`.

Thin on purpose: the join, the windows, the metrics, the Evidently report and the
degradation limit (the platform's rules; monitoring.max_drop may only tighten it) live in the
pinned platform package. Exit 0: healthy; 1: degraded (CI retrains); 2: could not check (too
few labelled rows, no champion, an unreadable log; the message says which and what to do).
"""

from __future__ import annotations

from mlops_platform.api import CHAMPION, PREDICTION_LOG_NAME, UNCHECKED, performance_cli

from {{ cookiecutter.package_name }}.monitor import LABELS_DIR
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.platform import connect, tracking_server_guard
from {{ cookiecutter.package_name }}.serve import MONITORING_DIR
from {{ cookiecutter.package_name }}.steps import run_step

REPORT_DIR = f"{MONITORING_DIR}/performance"


def performance_arguments() -> list[str]:
    params = load_params()
    max_drop = params.monitoring.max_drop
    # --model labels what mlops-performance pushes when MLOPS_PUSHGATEWAY_URL is set.
    return ["--predictions", f"{MONITORING_DIR}/{PREDICTION_LOG_NAME}", "--labels", LABELS_DIR,
            "--metric", params.promotion.primary_metric, "--baseline", CHAMPION,
            "--model", params.model.name, "--report-dir", REPORT_DIR,
            *(["--max-drop", str(max_drop)] if max_drop is not None else [])]


def check_performance() -> int:
    arguments = performance_arguments()
    with tracking_server_guard(connect()):
        return performance_cli(arguments)


def main() -> int:
    return run_step("performance", check_performance, failure_code=UNCHECKED)


if __name__ == "__main__":
    raise SystemExit(main())
