"""`make test-fast`, timed: the tests without servers, bakes or image builds (goal: under 2 min).

Runs the real target in a child process and reads pytest's summary line. The figure depends
on how busy the machine is (the goal is for a quiet one): the 1-minute load average before
the run and right after it (which includes the run's own load) are saved beside it.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.machine import markdown_table, save_results

REPO_ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 120.0
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|deselected|errors?)")


def measure(pytest_args: str = "-q -p no:cacheprovider") -> dict[str, Any]:
    """Seconds of `make test-fast` and its counts; PYTEST_ARGS narrows it for a dry check."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    result = subprocess.run(
        ["make", "--no-print-directory", "test-fast", f"PYTEST_ARGS={pytest_args}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600, check=False)
    seconds = round(time.perf_counter() - started, 1)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    counts = {kind.rstrip("s") if kind.startswith("error") else kind: int(number)
              for number, kind in SUMMARY.findall(summary)}
    return {"seconds": seconds, "exit_status": result.returncode, "counts": counts,
            "summary": summary, "load_before": round(load, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "meets_goal": result.returncode == 0 and seconds < GOAL_SECONDS}


def main() -> None:
    results = measure()
    counts = results["counts"]
    table = markdown_table(
        ["what", "seconds", "goal (issue #14)", "met", "load before", "load after"],
        [["`make test-fast`", results["seconds"], f"< {GOAL_SECONDS:.0f} s",
          "yes" if results["meets_goal"] else "no", results["load_before"],
          results["load_after"]]])
    table += (f"\n\npytest: {results['summary']} (exit {results['exit_status']}; "
              f"{counts.get('passed', 0)} passed, {counts.get('deselected', 0)} slow tests "
              f"deselected)\n\nLoad: the 1-minute load average of {os.cpu_count()} cores, "
              "before the run and right after it (the latter includes the run itself); "
              "the goal is for a quiet machine (load below 1).")
    save_results("test_fast", results, table)
