"""The A/B test report, run by `make ab-report` (scheduled in CI at level 2 while the plan
exists): the test planned in ab_test.yaml, decided by `mlops-ab-report` on the rows each arm
served and their labels.

The rows are `make serve`'s log and labels (monitoring/) unless `--current store`
(`make ab-report CURRENT=store`): what the platform's log shippers put in its artifact store
for this model (`<bucket>/monitoring/<model>/served/` and `.../labels/`), which CI reads.

Thin on purpose: the plan, the sample size, the fixed horizon, the sample-ratio check and the
decision live in the pinned platform package (docs/ab-testing.md of the platform). Exit 0:
better, not worse, or not enough data yet; 1: worse or a broken split (stop the challenger);
2: could not check (no plan, a bad one, no row of a test; the message says which).
"""

from __future__ import annotations

import argparse
import sys

from mlops_platform.api import (
    AB_TEST_PLAN_FILE as PLAN_FILE,
)
from mlops_platform.api import (
    UNCHECKED,
    DriftInputError,
    ab_report_cli,
)

from {{ cookiecutter.package_name }}.monitor import STORE, served_and_labels
from {{ cookiecutter.package_name }}.serve import MONITORING_DIR
from {{ cookiecutter.package_name }}.steps import run_step

REPORT_DIR = f"{MONITORING_DIR}/ab_test"


def ab_report(current: str | None, plan: str) -> int:
    try:
        predictions, labels = served_and_labels(current)
    except DriftInputError as error:
        print(f"ab-report: {error}", file=sys.stderr)
        return UNCHECKED
    return ab_report_cli(["--plan", plan, "--predictions", predictions, "--labels", labels,
                          "--report-dir", REPORT_DIR])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make ab-report", description=__doc__.splitlines()[0])
    parser.add_argument("--current", choices=[STORE], help="read the arms' rows from the "
                        "platform's artifact store instead of monitoring/")
    parser.add_argument("--plan", default=PLAN_FILE, help=f"the plan (default {PLAN_FILE})")
    args = parser.parse_args(argv)
    return run_step("ab-report", lambda: ab_report(args.current, args.plan),
                    failure_code=UNCHECKED)


if __name__ == "__main__":
    raise SystemExit(main())
