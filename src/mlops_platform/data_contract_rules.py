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
- ``allowed``: values from the listed set;
- ``duplicate``: a contract column appears once in the frame.

``CompiledContract`` is the contract compiled once, for a door that checks every request;
``check_frame`` compiles it for a single frame. Both say the same, in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
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


def target_column(contract: dict[str, Any]) -> dict[str, Any]:
    """The contract's target column: the rule a label (a row's outcome) must keep."""
    target = contract.get("target")
    for column in check_contract(contract):
        if column["name"] == target:
            return column
    raise ContractFileError(f"the contract's target {target!r} is not one of its columns: "
                            "name the target in `target` and describe it under `columns`")


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


def frame_of_records(rows: list) -> pd.DataFrame:
    """``pd.DataFrame(rows)``, built directly when every row is a dict of floats with the same
    keys: the usual request, made into one float block in a seventh of the time (pandas'
    own construction costs about 0.4 ms for one row of 30 columns, most of a served row's CPU).
    Any other rows go to pandas; the frame is the same either way."""
    first = rows[0] if rows else None
    if isinstance(first, dict) and all(isinstance(row, dict) and row.keys() == first.keys()
                                       for row in rows):
        columns = list(first)
        values = [[row[name] for name in columns] for row in rows]
        if columns and all(type(value) is float for row in values for value in row):
            return pd.DataFrame(np.array(values, dtype=np.float64), columns=columns)
    return pd.DataFrame(rows)


def check_frame(
    frame: pd.DataFrame, columns: list[dict[str, Any]], extra: str = "reject"
) -> list[Violation]:
    """Every break of the rules in ``frame``; rows are numbered from 0 in frame order.

    To check many frames against one contract, compile it once: ``CompiledContract``.
    """
    return CompiledContract(columns, extra).check(frame)


class CompiledContract:
    """The contract compiled once into whole-frame checks, for a door that checks every request.

    One numpy pass per group of columns alike in dtype (all the numeric ones at once) finds
    the columns that may break a rule; only those are checked again value by value, by
    ``check_column``, which names each row. The pass may suspect a good column (that costs
    time only), never pass a bad one: what a frame is told is ``check_column``'s word alone.
    """

    def __init__(self, columns: list[dict[str, Any]], extra: str = "reject"):
        if extra not in EXTRA_COLUMNS:
            raise ContractFileError(f"extra {extra!r} is not one of {', '.join(EXTRA_COLUMNS)}")
        self._columns = columns
        self._extra = extra
        self._names = [column["name"] for column in columns]
        self._index = {name: index for index, name in enumerate(self._names)}
        self._numbers = _NumberPass(columns)
        self._objects = [_object_pass(column) for column in columns]

    def check(self, frame: pd.DataFrame) -> list[Violation]:
        """Every break of the rules in ``frame``, as ``check_frame`` lists them."""
        names = frame.columns.tolist()
        if names == self._names:  # the usual request: the contract's columns, in its order
            extras, where, duplicated = [], list(range(len(names))), set()
        else:
            extras, where, duplicated = self._match(names)
        violations = [Violation(str(name), "extra", "not in the data contract")
                      for name in extras] if self._extra == "reject" else []
        suspects = self._suspects(frame, where, duplicated, in_order=names == self._names)
        for index, column in enumerate(self._columns):
            if where[index] is None:
                violations.append(Violation(column["name"], "missing", "absent, but required"))
            elif index in duplicated:
                violations.append(Violation(column["name"], "duplicate",
                                            "given more than once: send each column once"))
            elif index in suspects:
                values = frame.iloc[:, where[index]].reset_index(drop=True)
                violations += check_column(values, column)
        return violations

    def _match(self, names: list) -> tuple[list, list[int | None], set[int]]:
        """The frame's extra columns, each contract column's position, those given twice."""
        extras, where, duplicated = [], [None] * len(self._names), set()
        for position, name in enumerate(names):
            index = self._index.get(name)
            if index is None:
                extras.append(name)
            elif where[index] is None:
                where[index] = position
            else:
                duplicated.add(index)
        return extras, where, duplicated

    def _suspects(self, frame: pd.DataFrame, where: list[int | None], duplicated: set[int],
                  in_order: bool) -> set[int]:
        """The contract columns that may break a rule (at least every one that does)."""
        present = [(index, position) for index, position in enumerate(where)
                   if position is not None and index not in duplicated]
        if not present:
            return set()
        values = frame.to_numpy()
        if not len(values):
            return set()
        if values.dtype.kind in "fiu":  # one numeric block: every column in one pass
            numeric, objects, others = present, [], []
        else:
            numeric, objects, others = _by_kind(frame.dtypes.tolist(), present)
        suspects = {index for index, _ in others}
        if in_order and len(numeric) == len(self._columns):
            suspects |= self._numbers.suspects(values.astype(np.float64))
        elif numeric:
            block = values[:, [position for _, position in numeric]].astype(np.float64)
            suspects |= self._numbers.suspects(block, [index for index, _ in numeric])
        suspects |= {index for index, position in objects
                     if not self._objects[index](values[:, position])}
        return suspects


def _by_kind(dtypes: list, present: list[tuple[int, int]]) -> tuple[list, list, list]:
    """The present columns split by the frame's dtype: numeric, object (mixed) and others."""
    numeric, objects, others = [], [], []
    for index, position in present:
        dtype = dtypes[position]
        if isinstance(dtype, np.dtype) and dtype.kind in "fiu":
            numeric.append((index, position))
        elif dtype == np.dtype(object):
            objects.append((index, position))
        else:  # booleans, dates, pandas' extension types: checked value by value
            others.append((index, position))
    return numeric, objects, others


# Integers beyond 2**53 are not exact as float64: such values are always checked one by one.
_EXACT_LIMIT = 2.0**53


class _NumberPass:
    """The rules of every column as arrays, applied to a block of numeric columns at once."""

    def __init__(self, columns: list[dict[str, Any]]):
        self._lower = np.array([column.get("min", -math.inf) for column in columns], float)
        self._upper = np.array([column.get("max", math.inf) for column in columns], float)
        self._required = np.array([not column.get("nullable") for column in columns])
        self._text = np.array([column["dtype"] == "str" for column in columns])
        self._integral = np.array([column["dtype"] == "int" for column in columns])
        # None: some allowed values are no numbers, and the column is checked one by one.
        self._allowed = {index: _numbers_of(column["allowed"])
                         for index, column in enumerate(columns) if "allowed" in column}

    def suspects(self, values: np.ndarray, indexes: list[int] | None = None) -> set[int]:
        """``values`` holds the contract's columns ``indexes`` (default: all) as float64."""
        at = slice(None) if indexes is None else indexes
        nulls = np.isnan(values)
        bad = (values < self._lower[at]) | (values > self._upper[at])
        bad |= np.abs(values) >= _EXACT_LIMIT  # and the infinities
        bad |= nulls & self._required[at]
        bad |= ~nulls & (self._text[at] | (self._integral[at] & (np.floor(values) != values)))
        suspect = bad.any(axis=0)
        indexes = range(values.shape[1]) if indexes is None else indexes
        if self._allowed:
            for block_column, index in enumerate(indexes):
                if index in self._allowed and not suspect[block_column]:
                    suspect[block_column] = not _all_allowed(
                        values[~nulls[:, block_column], block_column], self._allowed[index])
        return {indexes[block_column] for block_column in np.flatnonzero(suspect)}


def _all_allowed(values: np.ndarray, allowed: np.ndarray | None) -> bool:
    return allowed is not None and bool(np.isin(values, allowed).all())


def _numbers_of(allowed: list) -> np.ndarray | None:
    """The allowed values as float64, or None when some are no numbers (checked one by one)."""
    if not all(_is_number(value) and abs(value) < _EXACT_LIMIT for value in allowed):
        return None
    return np.array(allowed, dtype=np.float64)


def _object_pass(column: dict[str, Any]) -> Callable[[np.ndarray], bool]:
    """A test of a column of Python objects: True only if every value keeps the rules."""
    nullable = bool(column.get("nullable"))
    allowed = column.get("allowed")
    if column["dtype"] == "str":
        if allowed is not None and not all(type(value) is str for value in allowed):
            return lambda _: False
        allowed_text = None if allowed is None else set(allowed)

        def texts_ok(values: np.ndarray) -> bool:
            for value in values:
                if type(value) is str:
                    if allowed_text is not None and value not in allowed_text:
                        return False
                elif not (nullable and _is_plain_null(value)):
                    return False
            return True

        return texts_ok
    lower, upper = column.get("min", -math.inf), column.get("max", math.inf)
    integral = column["dtype"] == "int"
    allowed_numbers = None if allowed is None else _numbers_of(allowed)
    if allowed is not None and allowed_numbers is None:
        return lambda _: False
    allowed_set = None if allowed_numbers is None else set(allowed_numbers.tolist())

    def numbers_ok(values: np.ndarray) -> bool:
        for value in values:
            if type(value) is int or (type(value) is float and value == value):
                if not (abs(value) < _EXACT_LIMIT and lower <= value <= upper) or (
                    integral and not float(value).is_integer()
                ) or (allowed_set is not None and value not in allowed_set):
                    return False
            elif not (nullable and _is_plain_null(value)):
                return False
        return True

    return numbers_ok


def _is_plain_null(value: Any) -> bool:
    return value is None or (type(value) is float and value != value)


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
