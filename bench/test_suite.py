"""`make test`, taken apart: installs and images, then pytest, and where pytest's time goes.

Runs what `.ci/run` runs in this checkout, phase by phase (the development environment, the
tool environments, the images, then pytest with ``--durations=0``), and reads pytest's own
duration lines: the slowest tests (their call) and the slowest fixtures (the setup a test
paid for, which is where a module's baked project or server is built). With
``MLOPS_TEST_SUITE_LOG=<file>`` it reads the output of a run made elsewhere instead (a CI
log, with ``PYTEST_ARGS=--durations=0`` or ``--durations=N``) and times no phase itself.

The figures depend on how busy the machine is: the 1-minute load average before and after
each phase is saved beside it.
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
LOG_ENV = "MLOPS_TEST_SUITE_LOG"
# With a log: the whole run's wall-clock seconds (`.ci/run` from its start), if known.
WALL_ENV = "MLOPS_TEST_SUITE_WALL_SECONDS"
# With a log: what the machine had before the run, e.g. "new machine: only Python, git, make".
MACHINE_ENV = "MLOPS_TEST_SUITE_MACHINE"
# Issue #28's figures: a new machine's `.ci/run`, serial pytest; then CI runs since.
BEFORE = (
    ("new machine, serial (issue #28)", 78 * 60, 22 * 60, 56 * 60 + 10, "1,135"),
    ("warm machine, serial (CI of stop 17)", 2954, None, None, "1,135"),
    ("warm machine, two workers (CI of stop 29)", 2071, None, None, "1,243"),
    ("warm machine, two workers (CI of stop 30)", 2216, None, None, "1,449"),
    ("warm machine, two workers (CI of stop 33)", 2032, None, None, "1,886"),
    ("warm machine, two workers (CI of stop 34: MLflow's credential cache on)", 1448, None,
     None, "1,886"),
)
GOAL_SECONDS = 30 * 60
SHOWN = 20
PHASES = (
    ("development environment", ["make", "venv"]),
    ("tool environments", ["make", ".venv-mlserver/.installed", ".venv-checkov/.installed"]),
    ("images", ["make", "images"]),
)
DURATION = re.compile(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)", re.MULTILINE)
SUMMARY = re.compile(r"^=+ (.*\d+ passed.*) in ([\d.]+)s", re.MULTILINE)


def timed(command: list[str], log: Path) -> dict[str, Any]:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with log.open("a") as output:
        result = subprocess.run(command, cwd=REPO_ROOT, stdout=output,
                                stderr=subprocess.STDOUT, check=False)
    return {"seconds": round(time.perf_counter() - started, 1), "exit_status": result.returncode,
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}


def run_suite(log: Path) -> dict[str, dict[str, Any]]:
    phases = {name: timed(command, log) for name, command in PHASES}
    phases["pytest"] = timed(
        ["make", "--no-print-directory", "test", "PYTEST_ARGS=--durations=0 -p no:cacheprovider"],
        log)
    return phases


def durations(text: str) -> dict[str, list[tuple[float, str]]]:
    """pytest's duration lines by kind, slowest first: setup (fixtures), call, teardown."""
    found: dict[str, list[tuple[float, str]]] = {"setup": [], "call": [], "teardown": []}
    for seconds, kind, test in DURATION.findall(text):
        found[kind].append((float(seconds), test))
    return {kind: sorted(entries, reverse=True) for kind, entries in found.items()}


def by_module(entries: list[tuple[float, str]]) -> list[tuple[float, str]]:
    totals: dict[str, float] = {}
    for seconds, test in entries:
        module = test.split("::", 1)[0]
        totals[module] = totals.get(module, 0.0) + seconds
    return sorted(((round(total, 1), module) for module, total in totals.items()), reverse=True)


def summarise(text: str, phases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    summary = SUMMARY.findall(text)
    found = durations(text)
    everything = [entry for entries in found.values() for entry in entries]
    return {
        "phases": phases,
        "pytest_summary": summary[-1][0] if summary else "",
        "pytest_seconds": float(summary[-1][1]) if summary else None,
        "tests": sum(int(n) for n in re.findall(r"(\d+) (?:passed|failed|errors?)",
                                                  summary[-1][0])) if summary else 0,
        "slowest_tests": found["call"][:SHOWN],
        "slowest_fixtures": found["setup"][:SHOWN],
        "slowest_modules": by_module(everything)[:SHOWN],
    }


def comparison(results: dict[str, Any]) -> str:
    rows = [[name, _minutes(total), _minutes(installs), _minutes(pytest), tests]
            for name, total, installs, pytest, tests in BEFORE]
    total = results.get("wall_seconds") or (
        sum(phase["seconds"] for phase in results["phases"].values()) or None)
    pytest_seconds = results["pytest_seconds"]
    installs = total - pytest_seconds if total and pytest_seconds else None
    machine = os.environ.get(MACHINE_ENV)
    name = f"this run (two workers{', ' + machine if machine else ''})"
    rows.append([name, _minutes(total), _minutes(installs), _minutes(pytest_seconds),
                 str(results["tests"])])
    return markdown_table(["run", "whole", "installs and images", "pytest", "tests"], rows)


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} min"


def table(results: dict[str, Any]) -> str:
    phase_rows = [[name, phase["seconds"], phase["exit_status"], phase["load_before"],
                   phase["load_after"]] for name, phase in results["phases"].items()]
    parts = [comparison(results)]
    if phase_rows:
        parts.append(markdown_table(["phase", "seconds", "exit", "load before", "load after"],
                                    phase_rows))
    parts.append(f"pytest: {results['pytest_summary']} in {results['pytest_seconds']} s")
    for title, key in (("Slowest tests (call)", "slowest_tests"),
                       ("Slowest fixtures (setup paid by the first test that used them)",
                        "slowest_fixtures"),
                       ("Slowest modules (setup + call + teardown of their tests, summed)",
                        "slowest_modules")):
        rows = [[f"{seconds:.1f}", f"`{test}`"] for seconds, test in results[key]]
        parts.append(f"{title}:\n\n" + markdown_table(["seconds", "test"], rows))
    return "\n\n".join(parts)


def main() -> None:
    given = os.environ.get(LOG_ENV)
    if given:
        log, phases = Path(given), {}
    else:
        log = REPO_ROOT / "build" / "test-suite.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text("")
        phases = run_suite(log)
    results = summarise(log.read_text(errors="replace"), phases)
    if os.environ.get(WALL_ENV):
        results["wall_seconds"] = float(os.environ[WALL_ENV])
    save_results("test_suite", results, table(results))
