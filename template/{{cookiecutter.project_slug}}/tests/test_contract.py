"""Data-quality tests: the data keeps its contract, and broken data is refused by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import DataContractError, check_frame


def first_numeric_feature(contract: dict) -> dict:
    return next(c for c in contract["columns"]
                if c["name"] != contract["target"] and "min" in c)


def test_the_data_set_keeps_its_contract(dataset: pd.DataFrame, contract: dict) -> None:
    check_frame(dataset, contract, "data set")


def test_the_target_takes_only_its_allowed_values(dataset: pd.DataFrame, contract: dict) -> None:
    target = next(c for c in contract["columns"] if c["name"] == contract["target"])
    assert set(dataset[contract["target"]].unique()) <= set(target["allowed"])


def test_nulls_are_refused_naming_the_column(dataset: pd.DataFrame, contract: dict) -> None:
    column = first_numeric_feature(contract)["name"]
    broken = dataset.copy()
    broken.loc[broken.index[:3], column] = np.nan
    with pytest.raises(DataContractError, match=f"column '{column}': has nulls"):
        check_frame(broken, contract, "broken data")


def test_out_of_range_values_are_refused(dataset: pd.DataFrame, contract: dict) -> None:
    column = first_numeric_feature(contract)
    broken = dataset.copy()
    broken.loc[broken.index[0], column["name"]] = column["max"] * 10 + 1
    with pytest.raises(DataContractError, match=f"column '{column['name']}': values out of range"):
        check_frame(broken, contract, "broken data")


def test_a_missing_column_is_refused(dataset: pd.DataFrame, contract: dict) -> None:
    column = first_numeric_feature(contract)["name"]
    with pytest.raises(DataContractError, match=f"column '{column}': missing"):
        check_frame(dataset.drop(columns=[column]), contract, "broken data")
