"""The door's messages, pinned: frames that break every rule, and the exact lines they give.

The expected lines were captured from the per-column implementation before the contract was
compiled into whole-frame checks; the compiled door must say the same, in the same order.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlops_platform.data_contract_rules import (
    CompiledContract,
    check_column,
    check_frame,
    describe,
    input_columns,
)
from tests.serving.contracts import CONTRACT, GOOD

COLUMNS = input_columns(CONTRACT)
LONG_CATEGORY = "a very long category name that gets shortened in messages"
RANGED = [
    {"name": "count", "dtype": "int", "nullable": True, "min": -5, "max": 5},
    {"name": "ratio", "dtype": "float", "nullable": False, "min": 0.5, "max": 1.5},
    {"name": "flag", "dtype": "int", "nullable": False, "allowed": [0, 1]},
    {"name": "code", "dtype": "str", "nullable": True, "allowed": ["x", LONG_CATEGORY]},
]


def rows(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([GOOD, *({**GOOD, **change} for change in changes)])


def whole(length: int, **columns: list) -> pd.DataFrame:
    """Columns built whole (one dtype each, as pandas infers it), the others from GOOD."""
    return pd.DataFrame({**{k: [v] * length for k, v in GOOD.items()}, **columns})


CASES = [
    pytest.param(pd.DataFrame([{k: v for k, v in GOOD.items() if k not in ("income", "score")}]),
                 COLUMNS, "reject", [
        "column 'income': absent, but required (missing)",
        "column 'score': absent, but required (missing)",
    ], id="missing"),
    pytest.param(rows({"zeta": 1}, {"alpha": "x"}), COLUMNS, "reject", [
        "column 'zeta': not in the data contract (extra)",
        "column 'alpha': not in the data contract (extra)",
    ], id="extra"),
    pytest.param(pd.DataFrame([{"zeta": 1, "age": 3}]), COLUMNS, "ignore", [
        "column 'income': absent, but required (missing)",
        "column 'segment': absent, but required (missing)",
        "column 'score': absent, but required (missing)",
    ], id="extra-ignored-missing-named"),
    pytest.param(rows({"age": None, "income": float("nan"), "segment": None, "score": None}),
                 COLUMNS, "reject", [
        "row 1, column 'age': null, but the column is not nullable (null)",
        "row 1, column 'income': null, but the column is not nullable (null)",
        "row 1, column 'segment': null, but the column is not nullable (null)",
    ], id="null-of-every-dtype"),
    pytest.param(rows({"income": True}, {"income": "12.5"}, {"income": float("inf")},
                      {"income": -math.inf}, {"income": [1]}), COLUMNS, "reject", [
        "row 1, column 'income': True is not a finite number (type)",
        "row 2, column 'income': '12.5' is not a finite number (type)",
        "row 3, column 'income': inf is not a finite number (type)",
        "column 'income': 2 more rows break the same rule (type)",
    ], id="float-type"),
    pytest.param(rows({"age": 2.5}, {"age": True}, {"age": "3"}, {"age": float("inf")},
                      {"age": 7.0}), COLUMNS, "reject", [
        "row 1, column 'age': 2.5 is not an integer (type)",
        "row 2, column 'age': True is not an integer (type)",
        "row 3, column 'age': '3' is not an integer (type)",
        "column 'age': 1 more rows break the same rule (type)",
    ], id="int-type"),
    pytest.param(rows({"segment": 3}, {"segment": False}, {"segment": 2.5}, {"segment": b"a"}),
                 COLUMNS, "reject", [
        "row 1, column 'segment': 3 is not a string (type)",
        "row 2, column 'segment': False is not a string (type)",
        "row 3, column 'segment': 2.5 is not a string (type)",
        "column 'segment': 1 more rows break the same rule (type)",
    ], id="str-type"),
    pytest.param(whole(4, age=[1.5, np.inf, 500.0, -np.inf], income=[np.nan, -1.0, 2e6, np.inf],
                       segment=[1.0, 2.0, 3.0, 4.0]), COLUMNS, "reject", [
        "row 0, column 'age': 1.5 is not an integer (type)",
        "row 1, column 'age': inf is not an integer (type)",
        "row 3, column 'age': -inf is not an integer (type)",
        "row 2, column 'age': 500.0 is above the maximum 120 (max)",
        "row 0, column 'income': null, but the column is not nullable (null)",
        "row 3, column 'income': inf is not a finite number (type)",
        "row 1, column 'income': -1.0 is below the minimum 0.0 (min)",
        "row 2, column 'income': 2000000.0 is above the maximum 1000000.0 (max)",
        "row 0, column 'segment': 1.0 is not a string (type)",
        "row 1, column 'segment': 2.0 is not a string (type)",
        "row 2, column 'segment': 3.0 is not a string (type)",
        "column 'segment': 1 more rows break the same rule (type)",
    ], id="whole-float-columns"),
    pytest.param(whole(2, age=[True, False], income=[False, True], segment=[True, True]),
                 COLUMNS, "reject", [
        "row 0, column 'age': True is not an integer (type)",
        "row 1, column 'age': False is not an integer (type)",
        "row 0, column 'income': False is not a finite number (type)",
        "row 1, column 'income': True is not a finite number (type)",
        "row 0, column 'segment': True is not a string (type)",
        "row 1, column 'segment': True is not a string (type)",
    ], id="whole-bool-columns"),
    pytest.param(whole(3, age=[-3, 121, 40], income=[-1, 10**7, 3], segment=[1, 2, 3]),
                 COLUMNS, "reject", [
        "row 0, column 'age': -3 is below the minimum 0 (min)",
        "row 1, column 'age': 121 is above the maximum 120 (max)",
        "row 0, column 'income': -1 is below the minimum 0.0 (min)",
        "row 1, column 'income': 10000000 is above the maximum 1000000.0 (max)",
        "row 0, column 'segment': 1 is not a string (type)",
        "row 1, column 'segment': 2 is not a string (type)",
        "row 2, column 'segment': 3 is not a string (type)",
    ], id="whole-int-columns"),
    pytest.param(rows({"age": -1}, {"age": 121}, {"income": -0.5}, {"income": 1e9}),
                 COLUMNS, "reject", [
        "row 1, column 'age': -1 is below the minimum 0 (min)",
        "row 2, column 'age': 121 is above the maximum 120 (max)",
        "row 3, column 'income': -0.5 is below the minimum 0.0 (min)",
        "row 4, column 'income': 1000000000.0 is above the maximum 1000000.0 (max)",
    ], id="min-max"),
    pytest.param(rows({"segment": "z"}, {"segment": "A"}, {"segment": "a" * 60}),
                 COLUMNS, "reject", [
        "row 1, column 'segment': 'z' is not one of 'a', 'b', 'c' (allowed)",
        "row 2, column 'segment': 'A' is not one of 'a', 'b', 'c' (allowed)",
        "row 3, column 'segment': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... "
        "is not one of 'a', 'b', 'c' (allowed)",
    ], id="allowed"),
    pytest.param(pd.DataFrame({"count": [-6, 6, None, 2.5], "ratio": [0.4, 1.6, 1.0, 0.5],
                               "flag": [0, 2, 1, -1], "code": ["x", "y", None, LONG_CATEGORY]}),
                 RANGED, "reject", [
        "row 3, column 'count': 2.5 is not an integer (type)",
        "row 0, column 'count': -6.0 is below the minimum -5 (min)",
        "row 1, column 'count': 6.0 is above the maximum 5 (max)",
        "row 0, column 'ratio': 0.4 is below the minimum 0.5 (min)",
        "row 1, column 'ratio': 1.6 is above the maximum 1.5 (max)",
        "row 1, column 'flag': 2 is not one of 0, 1 (allowed)",
        "row 3, column 'flag': -1 is not one of 0, 1 (allowed)",
        "row 1, column 'code': 'y' is not one of 'x', "
        "'a very long category name that gets ... (allowed)",
    ], id="ranged-and-allowed"),
    pytest.param(rows(*({"age": -i - 1, "segment": "z", "income": None} for i in range(8))),
                 COLUMNS, "reject", [
        "row 1, column 'age': -1 is below the minimum 0 (min)",
        "row 2, column 'age': -2 is below the minimum 0 (min)",
        "row 3, column 'age': -3 is below the minimum 0 (min)",
        "row 1, column 'income': null, but the column is not nullable (null)",
        "row 2, column 'income': null, but the column is not nullable (null)",
        "row 3, column 'income': null, but the column is not nullable (null)",
        "row 1, column 'segment': 'z' is not one of 'a', 'b', 'c' (allowed)",
        "row 2, column 'segment': 'z' is not one of 'a', 'b', 'c' (allowed)",
        "row 3, column 'segment': 'z' is not one of 'a', 'b', 'c' (allowed)",
        "column 'age': 5 more rows break the same rule (min)",
        "column 'income': 5 more rows break the same rule (null)",
        "column 'segment': 5 more rows break the same rule (allowed)",
    ], id="more-rows-than-shown"),
    pytest.param(rows({"age": -1}, {"segment": "q"}).set_axis([7, 3, 5]), COLUMNS, "reject", [
        "row 1, column 'age': -1 is below the minimum 0 (min)",
        "row 2, column 'segment': 'q' is not one of 'a', 'b', 'c' (allowed)",
    ], id="rows-numbered-in-frame-order"),
    pytest.param(pd.DataFrame({0: [1], **{k: [v] for k, v in GOOD.items()}}), COLUMNS, "reject", [
        "column '0': not in the data contract (extra)",
    ], id="non-string-column-name"),
    pytest.param(rows({"score": None}, {"age": 7.0}, {"income": 3}), COLUMNS, "reject", [],
                 id="good-rows"),
    pytest.param(pd.DataFrame(columns=list(GOOD)), COLUMNS, "reject", [], id="no-rows"),
]


@pytest.mark.parametrize(("frame", "columns", "extra", "expected"), CASES)
def test_every_rule_says_what_it_said_before_the_contract_was_compiled(
    frame, columns, extra, expected
):
    assert describe(check_frame(frame, columns, extra)).splitlines() == expected
    assert describe(CompiledContract(columns, extra).check(frame)).splitlines() == expected


# Values a request may carry in each column: good ones first, then every kind of break.
POOLS = {
    "age": [41, 0, 120, 7.0, -1, 121, 2.5, True, "3", None, math.inf, np.nan, 2**60],
    "income": [52000.5, 0.0, 1e6, 3, -0.5, 1e9, "12.5", False, None, -math.inf, np.nan],
    "segment": ["a", "b", "c", "z", 3, None, 2.5, True, np.str_("a")],
    "score": [0.3, None, np.nan, 1, math.inf, "x", True],
}
GOOD_IN_POOL = {"age": 4, "income": 4, "segment": 3, "score": 4}


def per_column_door(frame: pd.DataFrame, columns: list[dict], extra: str) -> list:
    """The door as it was before it was compiled: each column checked on its own."""
    frame = frame.reset_index(drop=True)
    known = {column["name"] for column in columns}
    violations = []
    if extra == "reject":
        violations += [f"column {name!r}: extra" for name in frame.columns if name not in known]
    for column in columns:
        if column["name"] in frame.columns:
            violations += check_column(frame[column["name"]], column)
        else:
            violations.append(f"column {column['name']!r}: missing")
    return violations


def random_frame(rng: np.random.Generator) -> pd.DataFrame:
    rows = int(rng.integers(1, 7))
    data = {}
    for name, pool in POOLS.items():
        if rng.random() < 0.05:
            continue  # a missing column
        # Mostly good columns, so the whole-frame pass is what decides them.
        choices = pool[:GOOD_IN_POOL[name]] if rng.random() < 0.6 else pool
        data[name] = [choices[i] for i in rng.integers(0, len(choices), rows)]
    if rng.random() < 0.1:
        data["note"] = ["vip"] * rows
    names = list(data)
    rng.shuffle(names)
    return pd.DataFrame({name: data[name] for name in names})


def test_the_compiled_door_says_what_the_per_column_one_says_on_random_frames():
    rng = np.random.default_rng(20)
    compiled = CompiledContract(COLUMNS)
    for attempt in range(250):
        frame = random_frame(rng)
        expected = [v if isinstance(v, str) else v.line() for v in
                    per_column_door(frame, COLUMNS, "reject")]
        said = [v.line() if v.rule not in ("extra", "missing") else
                f"column {v.column!r}: {v.rule}" for v in compiled.check(frame)]
        assert said == expected, f"frame {attempt}:\n{frame}"


def test_a_contract_column_given_twice_is_named_not_a_crash():
    frame = pd.DataFrame([[41, 1.0, "a", 0.3, 50]],
                         columns=["age", "income", "segment", "score", "age"])
    assert describe(check_frame(frame, COLUMNS)).splitlines() == [
        "column 'age': given more than once: send each column once (duplicate)"]
