"""The description of the machine a benchmark ran on, printed and saved beside its figures."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def describe_machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "bytecode": _bytecode_state(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _bytecode_state() -> str:
    """Uncompiled site-packages make every process recompile MLflow and DVC: say which."""
    spec = importlib.util.find_spec("mlflow")
    if spec is None or spec.origin is None:
        return "unknown"
    compiled = Path(importlib.util.cache_from_source(spec.origin)).exists()
    return "precompiled" if compiled else "compiled at every import"


def machine_line(machine: dict[str, Any]) -> str:
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['os']}, Python {machine['python']} (site-packages bytecode "
        f"{machine['bytecode']}), {machine['measured_at']}"
    )


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def save_results(name: str, results: dict[str, Any], table: str) -> None:
    """Print the table with the machine and write ``bench/results/<name>.{json,md}``."""
    machine = describe_machine()
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(
        json.dumps({"machine": machine, "results": results}, indent=2) + "\n"
    )
    text = f"### {name}\n\nMachine: {machine_line(machine)}\n\n{table}\n"
    (RESULTS_DIR / f"{name}.md").write_text(text)
    print(text)
