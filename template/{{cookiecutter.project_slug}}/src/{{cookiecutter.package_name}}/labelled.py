"""Labelled served rows as a new version of the training data, run by `make labelled-data`.

`mlops-labelled-data` joins the served predictions (monitoring/, or with `--current store` what
the platform's log shippers and label intake put in its artifact store) with their labels and
writes the rows that keep the data contract to data/labelled/served.csv, their lineage beside
it (which predictions, which model versions, which window). The Makefile then records
data/labelled/ as a new DVC version (data/labelled.dvc: commit it); the prepare stage appends
its rows to the training split, and the promotion gate scores challenger and champion on its
latest window.

Thin on purpose: the join and the contract check live in the pinned platform package.
Exit 0: written; 1: no labelled row keeps the contract yet (with --if-any, as `make retrain`
runs it: exit 0, data/labelled/ as it was); 2: nothing written, a store it cannot read (the
message says what to do).
"""

from __future__ import annotations

import argparse
import sys

from mlops_platform.api import UNCHECKED as UNUSABLE
from mlops_platform.api import DriftInputError, labelled_data_cli

from {{ cookiecutter.package_name }}.contract import CONTRACT_FILE
from {{ cookiecutter.package_name }}.data import LABELLED_FILE
from {{ cookiecutter.package_name }}.monitor import LABELS_DIR, SERVED_LOG, STORE, served_and_labels
from {{ cookiecutter.package_name }}.steps import run_step


def export(current: str | None, if_any: bool = False) -> int:
    try:
        predictions, labels = served_and_labels(current)
    except DriftInputError as error:
        print(f"labelled-data: {error}", file=sys.stderr)
        return UNUSABLE
    return labelled_data_cli(["--predictions", predictions, "--labels", labels,
                              "--contract", str(CONTRACT_FILE), "--output", str(LABELLED_FILE),
                              *(["--if-any"] if if_any else [])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.package_name }}.labelled",
        description=__doc__.split("\n")[0])
    parser.add_argument("--current", choices=[STORE], help="read the served predictions and "
                        f"labels from the platform's artifact store (default: {SERVED_LOG} and "
                        f"{LABELS_DIR}/)")
    parser.add_argument("--if-any", action="store_true", help="no labelled row yet is no "
                        "failure: exit 0 and keep data/labelled/ as it is")
    args = parser.parse_args(argv)
    return run_step("labelled-data", lambda: export(args.current, args.if_any),
                    failure_code=UNUSABLE)


if __name__ == "__main__":
    raise SystemExit(main())
