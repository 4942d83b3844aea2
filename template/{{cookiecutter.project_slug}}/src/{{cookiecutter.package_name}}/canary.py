"""A canary rollout, run by `make canary ENV=prod` (scheduled in CI at level 2 while
canary.yaml exists): the challenger declared in deploy/<env>.yaml steps up to the plan's next
weight while it keeps the champion's failure rate, prediction time (Prometheus: PROMETHEUS=
or MLOPS_PROMETHEUS_URL) and accuracy on labelled rows, or is rolled back; either is a commit
of deploy/<env>.yaml and a record in governance/audit.jsonl.

The labelled rows are `make serve`'s log and labels (monitoring/) unless `--current store`
(`make canary CURRENT=store`): what the platform's log shippers put in its artifact store,
which CI reads.

Thin on purpose: the plan, the evidence and the decision live in the pinned platform package
(docs/ab-testing.md of the platform). Exit 0: held, stepped or complete (promote through the
gate then); 1: rolled back; 2: could not check (the message says why).
"""

from __future__ import annotations

import argparse
import sys

from mlops_platform.api import UNCHECKED, DriftInputError, canary_cli

from {{ cookiecutter.package_name }}.monitor import STORE, served_and_labels
from {{ cookiecutter.package_name }}.steps import run_step


def canary(env: str, current: str | None, prometheus: str | None) -> int:
    try:
        predictions, labels = served_and_labels(current)
    except DriftInputError as error:
        print(f"canary: {error}", file=sys.stderr)
        return UNCHECKED
    return canary_cli(["--project", ".", "--env", env, "--predictions", predictions,
                       "--labels", labels, *(["--prometheus", prometheus] if prometheus else [])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make canary", description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=["staging", "prod"])
    parser.add_argument("--current", choices=[STORE], help="read the labelled rows from the "
                        "platform's artifact store instead of monitoring/")
    parser.add_argument("--prometheus", help="Prometheus' URL (default $MLOPS_PROMETHEUS_URL)")
    args = parser.parse_args(argv)
    return run_step("canary", lambda: canary(args.env, args.current, args.prometheus),
                    failure_code=UNCHECKED)


if __name__ == "__main__":
    raise SystemExit(main())
