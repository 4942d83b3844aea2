"""The rules of a data contract (``data_contract.yaml``), checked on a pandas frame.

One implementation for every place that checks data against the contract: the serving
runtime checks each request with it at the door (it is copied beside the runtime into
MLServer's environment, so it may import only the standard library, pandas and numpy).

A contract is ``{"target": name, "columns": [{"name", "dtype", "nullable", "min", "max",
"allowed"}, ...]}``, as ``mlops_platform.scaffold.data_contract`` writes it. The rules:

- ``missing``: every contract column is present;
- ``extra``: no column outside the contract (``extra="drop"`` or ``"ignore"`` allows them);
- ``null``: no null where ``nullable`` is false;
- ``type``: ``float`` takes finite numbers, ``int`` integral numbers (``2.0`` passes, since
  a column with a null holds its integers as floats; ``2.5`` and ``"2"`` do not), ``str``
  strings only; booleans are no numbers;
- ``min``/``max``: numbers within the inclusive range;
- ``allowed``: values from the listed set.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import pandas as pd

DTYPES = ("float", "int", "str")
EXTRA_COLUMNS = ("reject", "drop", "ignore")
ROWS_SHOWN_PER_RULE = 3


class ContractFileError(ValueError):
    """The contract itself is malformed; the message names the column and key."""


@dataclass(frozen=True)
class Violation:
    column: str
    rule: str
    detail: str
    row: int | None = None

    def line(self) -> str:
        where = f"column {self.column!r}" if self.row is None else (
            f"row {self.row}, column {self.column!r}")
        return f"{where}: {self.detail} ({self.rule})"


def check_contract(contract: Any) -> list[dict[str, Any]]:
    """The contract's columns, after checking the keys the rules read."""
    columns = contract.get("columns") if isinstance(contract, dict) else None
    if not isinstance(columns, list) or not columns:
        raise ContractFileError("the contract has no `columns` list: regenerate it or add one")
    for index, column in enumerate(columns):
        name = column.get("name") if isinstance(column, dict) else None
        if not isinstance(name, str):
            raise ContractFileError(f"column {index} of the contract has no `name`")
        if column.get("dtype") not in DTYPES:
            raise ContractFileError(
                f"column {name!r}: dtype {column.get('dtype')!r} is not one of {', '.join(DTYPES)}"
            )
        for bound in ("min", "max"):
            if bound in column and not _is_number(column[bound]):
                raise ContractFileError(f"column {name!r}: {bound} {column[bound]!r} is no number")
        if "allowed" in column and not isinstance(column["allowed"], list):
            raise ContractFileError(f"column {name!r}: `allowed` must be a list of values")
    return columns


def input_columns(contract: dict[str, Any]) -> list[dict[str, Any]]:
    """The columns a model input must carry: the contract's, without the target."""
    target = contract.get("target")
    return [column for column in check_contract(contract) if column["name"] != target]


def example_row(contract: dict[str, Any]) -> dict[str, Any]:
    """One input row that keeps every rule: an allowed value, else the middle of the range."""
    return {column["name"]: _example_value(column) for column in input_columns(contract)}


def _example_value(column: dict[str, Any]) -> Any:
    if column.get("allowed"):
        return column["allowed"][0]
    if column["dtype"] == "str":
        return "example"
    low, high = column.get("min"), column.get("max")
    if column["dtype"] == "int":
        low = math.ceil(low) if low is not None else None
        high = math.floor(high) if high is not None else None
        if low is not None and high is not None:
            return (low + high) // 2
        return next((bound for bound in (low, high) if bound is not None), 0)
    if low is not None and high is not None:
        middle = round((low + high) / 2, 4)
        return middle if low <= middle <= high else low  # rounding may leave a narrow range
    return float(next((bound for bound in (low, high) if bound is not None), 0.0))


def check_frame(
    frame: pd.DataFrame, columns: list[dict[str, Any]], extra: str = "reject"
) -> list[Violation]:
    """Every break of the rules in ``frame``; rows are numbered from 0 in frame order."""
    if extra not in EXTRA_COLUMNS:
        raise ContractFileError(f"extra {extra!r} is not one of {', '.join(EXTRA_COLUMNS)}")
    frame = frame.reset_index(drop=True)
    known = {column["name"] for column in columns}
    violations = []
    if extra == "reject":
        violations += [
            Violation(str(name), "extra", "not in the data contract")
            for name in frame.columns if name not in known
        ]
    for column in columns:
        if column["name"] in frame.columns:
            violations += check_column(frame[column["name"]], column)
        else:
            violations.append(Violation(column["name"], "missing", "absent, but required"))
    return violations


def extra_columns(frame: pd.DataFrame, columns: list[dict[str, Any]]) -> list[str]:
    known = {column["name"] for column in columns}
    return [str(name) for name in frame.columns if name not in known]


def check_column(values: pd.Series, column: dict[str, Any]) -> list[Violation]:
    name = column["name"]
    nulls = values.isna()
    violations = []
    if not column.get("nullable"):
        violations += _violations(name, "null", values[nulls],
                                  lambda _: "null, but the column is not nullable")
    present = values[~nulls]
    typed = _type_ok(present, column["dtype"])
    violations += _violations(name, "type", present[~typed],
                              lambda v: f"{_shown(v)} is not {_TYPE_WORDS[column['dtype']]}")
    valid = present[typed]
    if column["dtype"] != "str" and ("min" in column or "max" in column):
        numbers = pd.to_numeric(valid)
        if "min" in column:
            violations += _violations(name, "min", valid[numbers < column["min"]],
                                      lambda v: f"{_shown(v)} is below the minimum {column['min']}")
        if "max" in column:
            violations += _violations(name, "max", valid[numbers > column["max"]],
                                      lambda v: f"{_shown(v)} is above the maximum {column['max']}")
    if "allowed" in column:
        allowed = ", ".join(_shown(value) for value in column["allowed"])
        violations += _violations(name, "allowed", valid[~valid.isin(column["allowed"])],
                                  lambda v: f"{_shown(v)} is not one of {allowed}")
    return violations


def describe(violations: Iterable[Violation], rows_shown: int = ROWS_SHOWN_PER_RULE) -> str:
    """One line per problem; beyond ``rows_shown`` rows per column and rule, a count."""
    lines: list[str] = []
    shown: dict[tuple[str, str], int] = {}
    for violation in violations:
        key = (violation.column, violation.rule)
        shown[key] = shown.get(key, 0) + 1
        if shown[key] <= rows_shown:
            lines.append(violation.line())
    lines += [
        f"column {column!r}: {count - rows_shown} more rows break the same rule ({rule})"
        for (column, rule), count in shown.items() if count > rows_shown
    ]
    return "\n".join(lines)


# --- the value tests -------------------------------------------------------------------------

_TYPE_WORDS = {"float": "a finite number", "int": "an integer", "str": "a string"}


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    if isinstance(value, Integral):
        return not isinstance(value, bool)
    return _is_float(value) and float(value).is_integer()


_ELEMENT_TESTS: dict[str, Callable[[Any], bool]] = {
    "float": _is_float, "int": _is_int, "str": lambda value: isinstance(value, str),
}


def _type_ok(values: pd.Series, dtype: str) -> pd.Series:
    kind = values.dtype.kind
    # Whole numeric columns are tested at once: the per-value test is for mixed (object) ones.
    if kind in "iu":
        return pd.Series(dtype != "str", index=values.index)
    if kind == "f":
        if dtype == "str":
            return pd.Series(False, index=values.index)
        finite = values.abs() != math.inf
        return finite & (values % 1 == 0) if dtype == "int" else finite
    if kind == "b":
        return pd.Series(False, index=values.index)
    return values.map(_ELEMENT_TESTS[dtype]).astype(bool)


def _violations(
    column: str, rule: str, bad: pd.Series, detail: Callable[[Any], str]
) -> list[Violation]:
    return [Violation(column, rule, detail(value), int(row)) for row, value in bad.items()]


def _shown(value: Any) -> str:
    if hasattr(value, "item"):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
