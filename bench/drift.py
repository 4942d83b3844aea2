"""Drift check cost: seconds and peak memory of `mlops-drift` per 100k rows x 30 columns.

Each size runs the real command (``python -m mlops_platform.drift``) in a child process on CSV
files, so the peak resident memory (the child's ru_maxrss) is the command's alone and the
time includes reading the data and writing both reports, as the Monitoring CronJob does.
Interpreter start-up and imports are measured apart, by a child that only imports what the
command imports; the check is the command less that. Besides wall seconds, the child's CPU
seconds (user + system) are given: on a machine loaded by other work they move far less.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.machine import markdown_table, save_results

COLUMNS = 30
ROW_COUNTS = (10_000, 100_000)
PER_ROWS = 100_000
# The figures of the command before the reading in blocks and the sampled tests, at 100k x 30
# (bench/results/drift.md of 2026-11-25, wall seconds including start-up and imports).
BEFORE_100K = {"seconds": 46.8, "peak_rss_mib": 530.9}
IMPORTS = ("import mlops_platform.drift; from evidently import Dataset, Report; "
           "from evidently.presets import DataDriftPreset")
IMPORT_RUNS = 3


def write_data(folder: Path, rows: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(rows)
    names = [f"f{i}" for i in range(COLUMNS)]
    reference = pd.DataFrame(rng.normal(size=(rows, COLUMNS)), columns=names)
    current = pd.DataFrame(rng.normal(size=(rows, COLUMNS)), columns=names)
    current[names[:10]] += 0.5  # a third of the columns drift
    reference_path, current_path = folder / f"reference-{rows}.csv", folder / f"current-{rows}.csv"
    reference.to_csv(reference_path, index=False)
    current.to_csv(current_path, index=False)
    return reference_path, current_path


def run_child(command: list[str], errors: Path) -> tuple[int, dict[str, float]]:
    """Run ``command``; its exit code, wall and CPU seconds and peak RSS (its own, by wait4)."""
    started = time.perf_counter()
    with errors.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
    return os.waitstatus_to_exitcode(status), {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def measure_imports(folder: Path) -> dict[str, float]:
    """The median of IMPORT_RUNS runs: one run moves by seconds with the machine's load."""
    errors = folder / "imports.stderr"
    runs = []
    for _ in range(IMPORT_RUNS):
        exit_code, cost = run_child([sys.executable, "-c", IMPORTS], errors)
        if exit_code != 0:
            raise RuntimeError(f"importing the drift check failed: {errors.read_text()}")
        runs.append(cost)
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def run_drift(reference: Path, current: Path, report_dir: Path) -> dict[str, float]:
    errors = report_dir.parent / f"{report_dir.name}.stderr"
    exit_code, cost = run_child(
        [sys.executable, "-m", "mlops_platform.drift", "--reference", str(reference),
         "--current", str(current), "--report-dir", str(report_dir)], errors)
    if exit_code not in (0, 1):
        raise RuntimeError(f"mlops-drift failed: {errors.read_text()}")
    html = report_dir / "drift_report.html"
    summary = json.loads((report_dir / "drift_report.json").read_text())
    return {
        **cost,
        "drifted_columns": summary["drifted_columns"],
        "tested_rows": summary["tested_rows"],
        "html_mib": round(html.stat().st_size / 2**20, 1),
        "drift_detected": exit_code == 1,
    }


def check_alone(command: dict[str, Any], imports: dict[str, float], rows: int) -> dict[str, Any]:
    """The command's figures with start-up and imports taken off, and per 100k rows."""
    seconds = command["seconds"] - imports["seconds"]
    cpu = command["cpu_seconds"] - imports["cpu_seconds"]
    return {
        **{key: round(value, 2) if isinstance(value, float) else value
           for key, value in command.items()},
        "check_seconds": round(seconds, 2),
        "check_cpu_seconds": round(cpu, 2),
        "check_seconds_per_100k_rows": round(seconds * PER_ROWS / rows, 2),
        "check_cpu_seconds_per_100k_rows": round(cpu * PER_ROWS / rows, 2),
    }


def load() -> list[float]:
    return [round(value, 1) for value in os.getloadavg()]


def main() -> None:
    results: dict[str, Any] = {"load_average_1_5_15_min_before": load()}
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        folder = Path(tmp)
        imports = measure_imports(folder)
        results["startup_and_imports"] = {key: round(value, 2) for key, value in imports.items()}
        print("start-up and imports", results["startup_and_imports"], flush=True)
        for rows in ROW_COUNTS:
            reference, current = write_data(folder, rows)
            measured = check_alone(run_drift(reference, current, folder / f"reports-{rows}"),
                                   imports, rows)
            results[str(rows)] = measured
            print(rows, measured, flush=True)
    results["load_average_1_5_15_min_after"] = load()
    results["before_100k"] = BEFORE_100K
    save_results("drift", results, table(results))


def table(results: dict[str, Any]) -> str:
    imports = results["startup_and_imports"]
    rows = [["before: 100,000 x 30 (2026-11-25)", BEFORE_100K["seconds"], "-", "-", "-", "-",
             BEFORE_100K["peak_rss_mib"], "all", "10 of 30", False]]
    rows += [[f"{int(n):,} x {COLUMNS}", m["seconds"], m["cpu_seconds"], m["check_seconds"],
              m["check_cpu_seconds"], m["check_cpu_seconds_per_100k_rows"], m["peak_rss_mib"],
              f"{m['tested_rows']['reference']:,}", f"{m['drifted_columns']} of {COLUMNS}",
              m["drift_detected"]] for n, m in results.items() if n.isdigit()]
    headers = ["rows x columns (each side)", "command s", "command CPU s", "check s (less imports)",
               "check CPU s", "check CPU s per 100k rows", "peak RSS MiB",
               "rows tested per side", "drifted columns (10 shifted)",
               "data set drift (share >= 0.5)"]
    return "\n\n".join([
        markdown_table(headers, rows),
        f"Start-up and imports alone (median of {IMPORT_RUNS} runs): {imports['seconds']} s wall, "
        f"{imports['cpu_seconds']} s CPU, "
        f"{imports['peak_rss_mib']} MiB (taken off the command's figures for the check's).",
        f"Load average (1, 5, 15 min) before {results['load_average_1_5_15_min_before']}, after "
        f"{results['load_average_1_5_15_min_after']}, on {os.cpu_count()} cores: wall seconds "
        "stretch with the load, CPU seconds far less.",
    ])


if __name__ == "__main__":
    main()
