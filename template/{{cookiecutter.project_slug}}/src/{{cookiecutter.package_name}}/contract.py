"""The data contract (data_contract.yaml) as a pandera schema, and its failures in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pandera.errors
import pandera.pandas as pa
import yaml

from {{ cookiecutter.package_name }}.errors import DataContractError

CONTRACT_FILE = Path("data_contract.yaml")
DTYPES = {"float": float, "int": int, "str": str}


def load_contract(path: Path = CONTRACT_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def build_schema(contract: dict[str, Any]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {column["name"]: _column(column) for column in contract["columns"]}, strict=False,
    )


def _column(column: dict[str, Any]) -> pa.Column:
    checks = []
    if "allowed" in column:
        checks.append(pa.Check.isin(column["allowed"]))
    if "min" in column:
        checks.append(pa.Check.ge(column["min"]))
    if "max" in column:
        checks.append(pa.Check.le(column["max"]))
    # Integers arrive as floats once a column has a null: check the values, not the dtype.
    dtype = None if column["dtype"] == "int" else DTYPES[column["dtype"]]
    return pa.Column(dtype, checks=checks, nullable=bool(column.get("nullable")),
                     coerce=dtype is float)


def check_frame(frame: pd.DataFrame, contract: dict[str, Any], label: str) -> None:
    try:
        build_schema(contract).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        raise DataContractError(f"{label} breaks the data contract ({CONTRACT_FILE}): "
                                f"{describe_failures(err.failure_cases)}") from err


def describe_failures(failure_cases: pd.DataFrame) -> str:
    problems: dict[str, list[str]] = {}
    for case in failure_cases.to_dict("records"):
        if case["check"] == "column_in_dataframe":
            column, problem = str(case["failure_case"]), "missing"
        else:
            column, problem = str(case["column"]), _check_words(str(case["check"]))
        problems.setdefault(column, [])
        if problem not in problems[column]:
            problems[column].append(problem)
    return "; ".join(f"column {column!r}: {', '.join(found)}" for column, found in problems.items())


def _check_words(check: str) -> str:
    if check == "not_nullable":
        return "has nulls"
    if check.startswith(("greater_than", "less_than", "in_range")):
        return f"values out of range ({check})"
    if check.startswith("isin"):
        return f"values outside the allowed set ({check})"
    return check
