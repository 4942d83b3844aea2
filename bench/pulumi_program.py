"""The Pulumi program's run time under mocks, per committed stack (target: under 5 s each).

Measures, in this process: importing the SDKs and the program, the first run of each
stack (what `make manifests` pays once per stack) and the median of further runs.
"""

from __future__ import annotations

import statistics
import time

from bench.machine import markdown_table, save_results

TARGET_SECONDS = 5.0
REPEATS = 5


def main() -> None:
    started = time.perf_counter()
    from infra.config import STACKS
    from mlops_platform.local_cluster.mocked_engine import run_stack
    import_seconds = time.perf_counter() - started

    results: dict[str, dict[str, float | int | bool]] = {}
    for stack in STACKS:
        first = _timed(run_stack, stack)
        repeats = [_timed(run_stack, stack) for _ in range(REPEATS)]
        median = statistics.median(seconds for seconds, _ in repeats)
        resources = len(first[1].resources)
        results[stack] = {"first_run_s": round(first[0], 3), "median_run_s": round(median, 3),
                          "resources": resources, "meets_target": first[0] < TARGET_SECONDS}
    rows = [[stack, r["resources"], f"{r['first_run_s']:.3f}", f"{r['median_run_s']:.3f}",
             "yes" if r["meets_target"] else "NO"] for stack, r in results.items()]
    table = markdown_table(
        ["stack", "resources", "first run (s)", f"median of {REPEATS} more (s)",
         f"< {TARGET_SECONDS:.0f} s"], rows)
    table += f"\n\nImporting pulumi, pulumi-kubernetes and the program: {import_seconds:.2f} s."
    save_results("pulumi_program", {"import_s": round(import_seconds, 3), "stacks": results},
                 table)


def _timed(function, *args):
    started = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - started, value
