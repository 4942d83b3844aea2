"""A newcomer's first hour, timed: clone → `make platform-up` → bake → `make venv` →
`make pipeline` → `make serve` and one prediction, as a person types it.

Twice: cold (empty uv, pip and environment caches: `UV_CACHE_DIR`, `PIP_CACHE_DIR` and
`MLOPS_ENV_CACHE` point at new folders) and warm (a second clone and project on the same
caches). Targets on this 2-core machine: under 5 minutes cold, under 1 minute warm.
Every command runs in a shell like a user's: no virtual environment, no PYTHONPATH.

``python -m bench newcomer`` (needs a committed checkout: the clone is of HEAD).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.machine import markdown_table, save_results
from mlops_platform.demo.traffic import feature_rows, payload
from mlops_platform.processes import stop_process_group

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "Newcomer Model"
SLUG = "newcomer-model"
TARGET_COLUMN = "target"  # breast_cancer, the default data set
TARGETS_S = {"cold": 300.0, "warm": 60.0}
STEP_TIMEOUT = 1800
SERVE_TIMEOUT = 600
# What the issue measured before (pip, the full development environment for the platform).
BEFORE_S = {"make platform-up": "324", "make venv": "210 to 540",
            "make serve + one prediction": "240 (its install alone)"}
STEPS = ("clone", "make platform-up", "bake", "make venv", "make pipeline",
         "make serve + one prediction")


def user_environment(caches: Path) -> dict[str, str]:
    python_dir = Path(shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}")
                      or sys.executable).parent
    keep = {name: value for name, value in os.environ.items()
            if name.startswith(("PYENV", "SSL_", "REQUESTS_CA")) or name in ("HOME", "LANG")}
    return {**keep, "PATH": f"{python_dir}:/usr/local/bin:/usr/bin:/bin",
            "UV_CACHE_DIR": str(caches / "uv"), "PIP_CACHE_DIR": str(caches / "pip"),
            "MLOPS_ENV_CACHE": str(caches / "envs")}


def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=STEP_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


@contextmanager
def serving(project: Path, env: dict[str, str]) -> Iterator[str]:
    """`make serve` until it prints its prediction URL; stopped (whole group) afterwards."""
    process = subprocess.Popen(["make", "serve"], cwd=project, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = threading.Timer(SERVE_TIMEOUT, stop_process_group, (process.pid,))
    deadline.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            found = re.search(r"predict: POST (\S+/invocations)", line)
            if found:
                yield found.group(1)
                return
        raise RuntimeError(f"make serve exited ({process.wait()}) without serving")
    finally:
        deadline.cancel()
        stop_process_group(process.pid)


def first_prediction(project: Path, env: dict[str, str]) -> None:
    rows = feature_rows(project / "data" / "prepared" / "test.csv", TARGET_COLUMN).head(1)
    with serving(project, env) as url:
        response = httpx.post(url, json=payload(rows), timeout=60)
        response.raise_for_status()
        assert len(response.json()["predictions"]) == 1


def newcomer(base: Path, env: dict[str, str]) -> dict[str, float]:
    """The steps' seconds, from an empty folder to one answered prediction."""
    clone, projects = base / "platform", base / "projects"
    steps = {
        "clone": lambda: run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], base, env),
        "make platform-up": lambda: run(["make", "platform-up", "ARGS=--port 0"], clone, env),
        "bake": lambda: run([str(clone / ".venv-platform/bin/cookiecutter"), "--no-input",
                             "--output-dir", str(projects), str(clone), f"project_name={PROJECT}",
                             "maturity_level=1",
                             f"platform_outputs={clone / '.platform/outputs.json'}"], base, env),
        "make venv": lambda: run(["make", "venv"], projects / SLUG, env),
        "make pipeline": lambda: run(["make", "pipeline"], projects / SLUG, env),
        "make serve + one prediction": lambda: first_prediction(projects / SLUG, env),
    }
    seconds = {}
    try:
        for name in STEPS:
            started = time.perf_counter()
            steps[name]()
            seconds[name] = round(time.perf_counter() - started, 1)
    finally:
        if (clone / ".venv-platform").is_dir():
            subprocess.run(["make", "platform-down"], cwd=clone, env=env, capture_output=True,
                           timeout=120, check=False)
    return seconds


def main() -> None:
    # The folder holds four environments and the caches: removing it takes minutes on a busy
    # machine, so the figures are saved first.
    with tempfile.TemporaryDirectory(prefix="bench-newcomer-") as tmp:
        base = Path(tmp)
        env = user_environment(base / "caches")
        loads, runs = {}, {}
        for kind in ("cold", "warm"):
            (base / kind).mkdir()
            loads[kind] = os.getloadavg()[0]
            runs[kind] = newcomer(base / kind, env)
        save(runs, loads)


def save(runs: dict[str, dict[str, float]], loads: dict[str, float]) -> None:
    totals = {kind: round(sum(steps.values()), 1) for kind, steps in runs.items()}
    results = {"steps_s": runs, "total_s": totals, "targets_s": TARGETS_S,
               "before_s": BEFORE_S, "load_1min_at_start": loads,
               "load_1min_at_end": os.getloadavg()[0]}
    rows = [[name, str(BEFORE_S.get(name, "")), f"{runs['cold'][name]:.1f}",
             f"{runs['warm'][name]:.1f}"] for name in STEPS]
    rows.append(["**total**", "about 900", f"**{totals['cold']:.0f}** (target < 300)",
                 f"**{totals['warm']:.0f}** (target < 60)"])
    table = markdown_table(["step", "before (s)", "cold (s)", "warm (s)"], rows) + (
        f"\n\nLoad average (1 min) at the start of the cold run {loads['cold']:.1f}, of the warm "
        f"run {loads['warm']:.1f}, at the end {results['load_1min_at_end']:.1f}, on 2 cores.")
    save_results("newcomer", results, table)


if __name__ == "__main__":
    main()
