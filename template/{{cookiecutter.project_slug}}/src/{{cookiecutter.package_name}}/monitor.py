"""Drift monitoring: served inputs (monitoring/) against the training data, by the platform's check.

Thin on purpose: the drift check lives in the pinned platform package (`mlops-drift`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.data import TRAIN_FILE

MONITORING_DIR = Path("monitoring")
DRIFT_MODULE = "pipelines.drift"


def main() -> int:
    if importlib.util.find_spec(DRIFT_MODULE) is None:
        print("the drift check (mlops-drift) comes with the platform's monitoring release",
              file=sys.stderr)
        return 1
    from pipelines.drift import main as drift_cli

    return drift_cli(["--reference", str(TRAIN_FILE), "--current",
                      str(MONITORING_DIR / "inputs.csv"), "--output", str(MONITORING_DIR)])


if __name__ == "__main__":
    raise SystemExit(main())
