"""Drift check cost: seconds and peak memory of `mlops-drift` per 100k rows x 30 columns.

Each size runs the real command (``python -m mlops_platform.drift``) in a child process on CSV
files, so the peak resident memory (the child's ru_maxrss) is the command's alone and the
time includes reading the data and writing both reports, as the Monitoring CronJob does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.machine import markdown_table, save_results

COLUMNS = 30
ROW_COUNTS = (10_000, 100_000)
PER_ROWS = 100_000


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


def run_drift(reference: Path, current: Path, report_dir: Path) -> dict[str, float]:
    errors = report_dir.parent / f"{report_dir.name}.stderr"
    started = time.perf_counter()
    with errors.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlops_platform.drift", "--reference", str(reference),
             "--current", str(current), "--report-dir", str(report_dir)],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
        # wait4 gives this child's own peak RSS, not the largest of every child so far.
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    exit_code = os.waitstatus_to_exitcode(status)
    if exit_code not in (0, 1):
        raise RuntimeError(f"mlops-drift failed: {errors.read_text()}")
    html = report_dir / "drift_report.html"
    summary = json.loads((report_dir / "drift_report.json").read_text())
    return {
        "drifted_columns": summary["drifted_columns"],
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "html_mib": round(html.stat().st_size / 2**20, 1),
        "drift_detected": exit_code == 1,
    }


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        folder = Path(tmp)
        for rows in ROW_COUNTS:
            reference, current = write_data(folder, rows)
            measured = run_drift(reference, current, folder / f"reports-{rows}")
            measured["seconds_per_100k_rows"] = round(measured["seconds"] * PER_ROWS / rows, 2)
            results[str(rows)] = measured
            print(rows, measured, flush=True)
    rows = [[f"{int(n):,} x {COLUMNS}", m["seconds"], m["seconds_per_100k_rows"],
             m["peak_rss_mib"], m["html_mib"], f"{m['drifted_columns']} of {COLUMNS}",
             m["drift_detected"]] for n, m in results.items()]
    table = markdown_table(
        ["rows x columns (each side)", "seconds", "s per 100k rows", "peak RSS MiB",
         "HTML MiB", "drifted columns (10 shifted)", "data set drift (share >= 0.5)"], rows)
    save_results("drift", results, table)


if __name__ == "__main__":
    main()
