"""Bake time, cold `make pipeline` and no-op `make pipeline` of the default project.

Targets on 2 cores: bake < 1 s, cold pipeline < 15 s, no-op < 1 s. The pipeline runs
against a fresh embedded local platform; every stage is its own Python process.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlops_platform.local_platform as local_platform
from bench.machine import markdown_table, save_results

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent.parent
BAKES = 5
COLD_RUNS = 3
NO_OPS = 5
TARGETS_S = {"bake": 1.0, "cold_pipeline": 15.0, "noop_pipeline": 1.0}


def bake(output_dir: Path, outputs_file: Path, model_name: str) -> Path:
    from cookiecutter.main import cookiecutter

    return Path(cookiecutter(str(REPO_ROOT), no_input=True, output_dir=str(output_dir),
                             extra_context={"platform_outputs": str(outputs_file),
                                            "model_name": model_name}))


def make_pipeline(project: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["make", "--no-print-directory", "pipeline", f"VENV={VENV}"], cwd=project,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def timed_bakes(base: Path, outputs_file: Path) -> list[float]:
    times = []
    for index in range(BAKES):
        started = time.perf_counter()
        bake(base / f"bake-{index}", outputs_file, f"bench-bake-{index}")
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-template-") as tmp:
        base = Path(tmp)
        state_dir = base / "platform"
        local_platform.up(local_platform.LocalPlatformSettings(state_dir=state_dir, port=0))
        try:
            outputs_file = state_dir / "outputs.json"
            bakes = timed_bakes(base, outputs_file)
            projects = [bake(base / f"pipeline-{index}", outputs_file, f"bench-pipeline-{index}")
                        for index in range(COLD_RUNS)]
            colds = [make_pipeline(project) for project in projects]
            no_ops = [make_pipeline(projects[0]) for _ in range(NO_OPS)]
        finally:
            local_platform.down(state_dir)
    # Other jobs on the machine slow every figure: say how busy it was.
    load_1min = os.getloadavg()[0]
    cold = statistics.median(colds)
    results = {"bake_s": statistics.median(bakes), "cold_pipeline_s": cold,
               "load_1min": load_1min,
               "noop_pipeline_s": statistics.median(no_ops), "targets_s": TARGETS_S,
               "bakes": BAKES, "cold_runs": COLD_RUNS, "no_ops": NO_OPS}
    rows = [
        ["bake (cookiecutter + hooks: git init, dvc init, first commit)",
         f"{results['bake_s']:.2f}", f"< {TARGETS_S['bake']:.0f}", f"median of {BAKES}"],
        ["cold `make pipeline` (5 stages, local platform)", f"{cold:.1f}",
         f"< {TARGETS_S['cold_pipeline']:.0f}", f"median of {COLD_RUNS} fresh projects"],
        ["no-op `make pipeline`", f"{results['noop_pipeline_s']:.2f}",
         f"< {TARGETS_S['noop_pipeline']:.0f}", f"median of {NO_OPS}"],
    ]
    table = markdown_table(["what", "seconds", "target", "runs"], rows)
    save_results("template", results, f"{table}\n\nLoad average (1 min) at the end: "
                                      f"{load_1min:.1f}")
