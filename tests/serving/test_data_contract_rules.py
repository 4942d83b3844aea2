"""The data contract's rules on frames: one case per rule, each named in one line."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from mlops_platform.data_contract_rules import (
    ContractFileError,
    check_contract,
    check_frame,
    describe,
    example_row,
    frame_of_records,
    input_columns,
    target_column,
)
from mlops_platform.scaffold.data_contract import CONTRACTS_DIR, infer_contract
from tests.serving.contracts import CONTRACT, GOOD


def problems(*changes: dict, extra: str = "reject") -> list[str]:
    rows = [GOOD, *({**GOOD, **change} for change in changes)]
    frame = pd.DataFrame(rows)
    return describe(check_frame(frame, input_columns(CONTRACT), extra)).splitlines()


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"segment": "z"}, "row 1, column 'segment': 'z' is not one of 'a', 'b', 'c' (allowed)"),
        ({"age": -1}, "row 1, column 'age': -1 is below the minimum 0 (min)"),
        ({"income": 1e9},
         "row 1, column 'income': 1000000000.0 is above the maximum 1000000.0 (max)"),
        ({"age": 2.5}, "row 1, column 'age': 2.5 is not an integer (type)"),
        ({"income": "12.5"}, "row 1, column 'income': '12.5' is not a finite number (type)"),
        ({"segment": 3}, "row 1, column 'segment': 3 is not a string (type)"),
        ({"income": True}, "row 1, column 'income': True is not a finite number (type)"),
        ({"score": float("inf")}, "row 1, column 'score': inf is not a finite number (type)"),
        ({"income": None}, "row 1, column 'income': null, but the column is not nullable (null)"),
        ({"extra": 1}, "column 'extra': not in the data contract (extra)"),
    ],
    ids=["allowed", "min", "max", "int-type", "number-as-string", "str-type", "bool",
         "inf", "null", "extra"],
)
def test_each_rule_is_one_line_naming_row_column_and_rule(change, line):
    assert problems(change) == [line]


def test_a_missing_column_is_named():
    rows = pd.DataFrame([{k: v for k, v in GOOD.items() if k != "income"}])
    assert describe(check_frame(rows, input_columns(CONTRACT))).splitlines() == [
        "column 'income': absent, but required (missing)"
    ]


def test_good_rows_nullable_nulls_and_integral_floats_pass():
    assert problems({"score": None}, {"age": 7.0}, {"income": 3}) == []


def test_extra_columns_pass_when_dropped_or_ignored():
    assert problems({"extra": 1}, extra="drop") == []
    assert problems({"extra": 1}, extra="ignore") == []


def test_the_target_is_no_input_but_stays_in_the_contract():
    assert [c["name"] for c in input_columns(CONTRACT)] == ["age", "income", "segment", "score"]
    assert problems({"churned": 1}) == ["column 'churned': not in the data contract (extra)"]


def test_many_breaks_of_one_rule_show_three_rows_and_a_count():
    lines = problems(*({"age": -i - 1} for i in range(10)))
    assert lines[:3] == [f"row {i}, column 'age': {-i} is below the minimum 0 (min)"
                         for i in (1, 2, 3)]
    assert lines[3:] == ["column 'age': 7 more rows break the same rule (min)"]


def test_whole_numeric_columns_are_checked_without_a_per_value_pass():
    frame = pd.DataFrame({**{k: [v] * 5 for k, v in GOOD.items()},
                          "age": [1.0, 2.0, 3.5, 4.0, 500.0]})
    lines = describe(check_frame(frame, input_columns(CONTRACT))).splitlines()
    assert lines == ["row 2, column 'age': 3.5 is not an integer (type)",
                     "row 4, column 'age': 500.0 is above the maximum 120 (max)"]


@pytest.mark.parametrize(
    ("contract", "message"),
    [
        ({}, "no `columns` list"),
        ({"columns": [{"dtype": "int"}]}, "column 0 of the contract has no `name`"),
        ({"columns": [{"name": "a", "dtype": "number"}]}, "dtype 'number' is not one of"),
        ({"columns": [{"name": "a", "dtype": "int", "min": "low"}]}, "min 'low' is no number"),
        ({"columns": [{"name": "a", "dtype": "str", "allowed": "x"}]}, "must be a list"),
    ],
)
def test_a_malformed_contract_is_refused_naming_the_key(contract, message):
    with pytest.raises(ContractFileError, match=message):
        check_contract(contract)


def test_the_contracts_the_scaffold_writes_are_read_by_the_rules(tmp_path):
    shipped = yaml.safe_load((CONTRACTS_DIR / "breast_cancer.yaml").read_text())
    assert len(input_columns(shipped)) == 30
    data = tmp_path / "customers.csv"
    data.write_text("age,segment,churned\n41,a,0\n35,b,1\n50,a,1\n")
    inferred = infer_contract(data, target="churned")
    frame = pd.DataFrame({"age": [41, 300], "segment": ["a", "z"]})
    assert describe(check_frame(frame, input_columns(inferred))).splitlines() == [
        "row 1, column 'age': 300 is above the maximum 50 (max)",
        "row 1, column 'segment': 'z' is not one of 'a', 'b' (allowed)",
    ]


@pytest.mark.parametrize("contract", [
    CONTRACT,
    yaml.safe_load((CONTRACTS_DIR / "breast_cancer.yaml").read_text()),
    {"columns": [{"name": "only-min", "dtype": "int", "min": 2.5},
                 {"name": "only-max", "dtype": "float", "max": -3},
                 {"name": "narrow", "dtype": "float", "min": 0.00001, "max": 0.00002},
                 {"name": "free-text", "dtype": "str"}]},
], ids=["allowed-int-str-nullable", "breast-cancer", "open-and-narrow-ranges"])
def test_the_example_row_keeps_every_rule_of_its_contract(contract):
    row = example_row(contract)
    assert list(row) == [column["name"] for column in input_columns(contract)]
    assert check_frame(pd.DataFrame([row]), input_columns(contract)) == []


def test_the_target_column_is_the_rule_a_label_keeps() -> None:
    contract = yaml.safe_load((CONTRACTS_DIR / "breast_cancer.yaml").read_text())
    assert target_column(contract) == {"name": "target", "nullable": False, "dtype": "int",
                                       "allowed": [0, 1]}
    with pytest.raises(ContractFileError, match="the contract's target 'outcome' is not one of "
                                                "its columns"):
        target_column({**contract, "target": "outcome"})


FLOATS = {"a": 1.5, "b": -0.25, "c": 3.0}


@pytest.mark.parametrize("rows", [
    [FLOATS],
    [FLOATS, {"a": 2.0, "b": 0.5, "c": float("nan")}],
    [FLOATS, {"c": 1.0, "b": 2.0, "a": 3.0}],  # same keys in another order
    [FLOATS, {"a": 1, "b": 2.0, "c": 3.0}],  # an int: pandas decides the column's type
    [FLOATS, {"a": 1.0, "b": None, "c": 3.0}],
    [FLOATS, {"a": 1.0, "b": 2.0}],  # a missing key
    [FLOATS, {**FLOATS, "d": 4.0}],  # an extra key
    [{"a": True, "b": 0.5}],
    [{"a": "x", "b": 0.5}],
    [[1.0, 2.0], [3.0, 4.0]],
    [],
], ids=["one-row", "nan", "reordered", "int", "null", "missing", "extra", "bool", "str",
        "lists", "empty"])
def test_a_request_table_is_the_frame_pandas_builds(rows):
    pd.testing.assert_frame_equal(frame_of_records(rows), pd.DataFrame(rows))
