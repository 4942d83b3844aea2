"""The data contract a new project starts with, written to ``data_contract.yaml``.

The built-in data set ships a reviewed contract; for a CSV the contract is inferred
once, at bake time, from the file (column types, no nulls where there are none,
observed ranges, category sets). It is then the project's own file: the validate
stage checks every later version of the data against it, never re-infers it.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import yaml

CONTRACT_FILE = "data_contract.yaml"
CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
MAX_CATEGORIES = 20


def write_contract(project_dir: Path, dataset: str, target: str, csv_path: Path | None) -> None:
    if csv_path is None:
        text = (CONTRACTS_DIR / f"{dataset}.yaml").read_text()
    else:
        text = yaml.safe_dump(infer_contract(csv_path, target), sort_keys=False)
    (project_dir / CONTRACT_FILE).write_text(text)


def infer_contract(csv_path: Path, target: str) -> dict[str, Any]:
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns: dict[str, list[str]] = {name: [] for name in reader.fieldnames or []}
        for row in reader:
            for name in columns:
                columns[name].append((row.get(name) or "").strip())
    return {
        "dataset": csv_path.name,
        "target": target,
        "columns": [column_contract(name, values) for name, values in columns.items()],
    }


def column_contract(name: str, values: list[str]) -> dict[str, Any]:
    present = [value for value in values if value != ""]
    contract: dict[str, Any] = {"name": name, "nullable": len(present) < len(values)}
    numbers = _as_numbers(present)
    if numbers is not None and numbers:
        integral = all(number.is_integer() for number in numbers)
        contract["dtype"] = "int" if integral else "float"
        if integral and len(set(numbers)) <= 2:
            contract["allowed"] = sorted({int(number) for number in numbers})
        else:
            contract["min"], contract["max"] = _plain(min(numbers)), _plain(max(numbers))
    else:
        contract["dtype"] = "str"
        categories = sorted(set(present))
        if len(categories) <= MAX_CATEGORIES:
            contract["allowed"] = categories
    return contract


def _as_numbers(values: list[str]) -> list[float] | None:
    try:
        numbers = [float(value) for value in values]
    except ValueError:
        return None
    return numbers if all(math.isfinite(number) for number in numbers) else None


def _plain(number: float) -> int | float:
    return int(number) if number.is_integer() else number
