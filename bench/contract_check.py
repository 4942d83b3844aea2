"""The serving door's own cost: checking one request against the data contract (issue 20).

The template's default contract (the 30 float columns of the breast-cancer data) and three
requests built as the serving runtime builds them (``pd.DataFrame`` of the
``dataframe_records`` rows): 1 and 100 good rows, and 1 row with one value out of range (the
compiled door then checks that column again value by value, to name the row). Two doors
check the same frames: the compiled contract the runtime builds at load
(``CompiledContract.check``) and the door before issue 20, every column checked on its own by
``check_column`` (what ``check_frame`` did). Each figure is the median of many calls in this
process; the 1-minute load average is recorded beside it, since the machine is shared.

Goal (issue 20): at most 0.2 ms for a 1-row request of 30 columns.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import yaml
from sklearn.datasets import load_breast_cancer

from bench.machine import markdown_table, save_results
from mlops_platform.data_contract_rules import (
    CompiledContract,
    Violation,
    check_column,
    input_columns,
)
from mlops_platform.scaffold.data_contract import CONTRACTS_DIR

CALLS = {"compiled": 2000, "per column": 50}
GOAL_MS = 0.2


def per_column_door(frame: pd.DataFrame, columns: list[dict[str, Any]]) -> list[Violation]:
    """The door before issue 20: each contract column checked on its own, with pandas."""
    frame = frame.reset_index(drop=True)
    known = {column["name"] for column in columns}
    violations = [Violation(str(name), "extra", "not in the data contract")
                  for name in frame.columns if name not in known]
    for column in columns:
        if column["name"] in frame.columns:
            violations += check_column(frame[column["name"]], column)
        else:
            violations.append(Violation(column["name"], "missing", "absent, but required"))
    return violations


def median_ms(check: Callable[[pd.DataFrame], list], frame: pd.DataFrame, calls: int) -> float:
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        check(frame)
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1e3, 4)


def requests(data: pd.DataFrame) -> dict[str, pd.DataFrame]:
    out_of_range = data.iloc[:1].to_dict("records")
    out_of_range[0]["mean radius"] = 1000.0
    return {
        "1 row": pd.DataFrame(data.iloc[:1].to_dict("records")),
        "100 rows": pd.DataFrame(data.iloc[:100].to_dict("records")),
        "1 row, 1 value out of range": pd.DataFrame(out_of_range),
    }


def main() -> None:
    contract = yaml.safe_load((CONTRACTS_DIR / "breast_cancer.yaml").read_text())
    columns = input_columns(contract)
    data = load_breast_cancer(as_frame=True).frame[[column["name"] for column in columns]]
    started = time.perf_counter()
    compiled = CompiledContract(columns)
    compile_ms = round((time.perf_counter() - started) * 1e3, 3)
    doors = {"compiled": compiled.check,
             "per column": lambda frame: per_column_door(frame, columns)}
    results: dict[str, Any] = {"columns": len(columns), "compile_ms": compile_ms, "cells": []}
    for request, frame in requests(data).items():
        assert compiled.check(frame) == per_column_door(frame, columns)
        for door, check in doors.items():
            cell = {"door": door, "request": request,
                    "median_ms": median_ms(check, frame, CALLS[door]),
                    "load_1min": round(os.getloadavg()[0], 1)}
            results["cells"].append(cell)
            print(cell, flush=True)
    table = markdown_table(
        ["door", "request", "median ms per check", "1-min load average"],
        [[c["door"], c["request"], c["median_ms"], c["load_1min"]] for c in results["cells"]],
    )
    note = (f"\n\nContract: {len(columns)} float columns (breast cancer); compiled once at "
            f"load in {compile_ms} ms. Goal: {GOAL_MS} ms for a 1-row request.")
    save_results("contract_check", results, table + note)


if __name__ == "__main__":
    main()
