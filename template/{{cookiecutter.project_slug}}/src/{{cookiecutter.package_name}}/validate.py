"""Stage validate: the prepared data must keep its contract before anything trains on it."""

from __future__ import annotations

import json

from mlops_platform.api import contract as ml_contract

from {{ cookiecutter.package_name }}.contract import check_frame, load_contract
from {{ cookiecutter.package_name }}.data import TEST_FILE, TRAIN_FILE, load_prepared
from {{ cookiecutter.package_name }}.records import VALIDATION_FILE
from {{ cookiecutter.package_name }}.steps import run_step


def validate() -> None:
    contract = load_contract()
    train, test = load_prepared()
    check_frame(train, contract, str(TRAIN_FILE))
    check_frame(test, contract, str(TEST_FILE))
    VALIDATION_FILE.parent.mkdir(parents=True, exist_ok=True)
    record = {"status": ml_contract.DATA_VALIDATION_PASSED,
              "rows": {"train": len(train), "test": len(test)},
              "columns": len(contract["columns"])}
    VALIDATION_FILE.write_text(json.dumps(record, indent=2) + "\n")
    print(f"data contract holds for {len(train) + len(test)} rows")


def main() -> int:
    return run_step("validate", validate)


if __name__ == "__main__":
    raise SystemExit(main())
