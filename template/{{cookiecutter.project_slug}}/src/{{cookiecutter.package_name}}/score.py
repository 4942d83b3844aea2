"""Score a table with the champion (`make score INPUT=rows.csv OUTPUT=scored.csv`).

Thin on purpose: `mlops-score` of the pinned platform package checks the rows against the
data contract the champion was trained under, writes them with their `prediction` and
`prediction_id`, and logs them to monitoring/ beside the served ones, so labels sent back
for them (`make labels`) join the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mlops_platform.api import contract as ml_contract
from mlops_platform.api import score_cli

from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.platform import connect
from {{ cookiecutter.package_name }}.serve import MONITORING_DIR
from {{ cookiecutter.package_name }}.steps import run_step


def score(input_table: str, output: str) -> None:
    connect()
    name = load_params().model.name
    code = score_cli(["--model-uri", f"models:/{name}@{ml_contract.ALIAS_CHAMPION}",
                      "--input", input_table, "--output", output, "--log", MONITORING_DIR])
    if code:
        raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    input_table, output = sys.argv[1:3] if argv is None else argv
    return run_step("score", lambda: score(input_table, output))


if __name__ == "__main__":
    raise SystemExit(main())
