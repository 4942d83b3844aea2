"""Stage feature_store: the prepared splits become the Feast feature store's offline data (one
row per key and event time); the definitions of feature_repo/ are applied to its registry and
the values materialised to its online store, which `make serve` answers requests by key from.

Training reads its rows back with point-in-time-correct historical retrieval
(`training_frame`); evaluation checks the online values against the offline ones
(`skew_check`), the training/serving skew figure of the model card.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from mlops_platform.api import feature_store

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data import load_prepared
from {{ cookiecutter.package_name }}.steps import run_step

SKEW_SAMPLE = 100  # test keys the skew check compares
SKEW_SEED = 0
SKEW_ARTIFACT = feature_store.SKEW_ARTIFACT  # the report, as the run logs it


def build() -> None:
    train, test = load_prepared()
    rows = feature_store.write_offline_data({"train": train, "test": test},
                                            load_contract()["target"])
    store = feature_store.open_store()
    applied = feature_store.apply_definitions(store)
    feature_store.materialise(store)
    print(f"feature store: {rows} rows in {feature_store.SOURCE_FILE}; applied "
          f"{', '.join(applied)}; materialised to the online store")


def training_frame(split: str = "train") -> pd.DataFrame:
    """The split's rows as the model sees them, read from the feature store at each row's
    event time (never a value stamped later), in the contract's column order."""
    columns = [column["name"] for column in load_contract()["columns"]]
    entities = pd.read_parquet(feature_store.entities_file(split))
    return feature_store.training_rows(feature_store.open_store(), entities, columns)


def skew_check() -> dict[str, Any]:
    """Online against offline values for a sample of the test split's keys; also written to
    reports/feature_skew.json."""
    keys = pd.read_parquet(feature_store.entities_file("test"))[feature_store.ENTITY_KEY]
    sample = keys.sample(min(SKEW_SAMPLE, len(keys)), random_state=SKEW_SEED).tolist()
    report = feature_store.skew_report(feature_store.open_store(), sample)
    feature_store.SKEW_FILE.parent.mkdir(parents=True, exist_ok=True)
    feature_store.SKEW_FILE.write_text(json.dumps(report, indent=2) + "\n")
    return report


def main() -> int:
    return run_step("feature_store", build)


if __name__ == "__main__":
    raise SystemExit(main())
