"""The demo's steps under the progress display, with real short commands instead of make."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from mlops_platform.demo.run import (
    FIRST_STEP,
    LAST_STEP,
    LOOP,
    STEP_TITLES,
    DemoError,
    DemoPaths,
    DemoRun,
)
from mlops_platform.progress import StepProgress


def printing(*lines: str, exit_status: int = 0) -> list[str]:
    code = f"for line in {list(lines)!r}: print(line, flush=True)\nraise SystemExit({exit_status})"
    return [sys.executable, "-c", code]


@pytest.fixture
def console() -> Console:
    return Console(file=io.StringIO(), force_terminal=False, width=200)


def demo_run(tmp_path: Path, progress: StepProgress) -> DemoRun:
    run = DemoRun(DemoPaths(tmp_path / "demo"), progress)
    run.project = tmp_path
    return run


def test_the_display_counts_every_step_of_the_loop_in_order() -> None:
    assert STEP_TITLES[0] == FIRST_STEP and STEP_TITLES[-1] == LAST_STEP
    assert STEP_TITLES[1:-1] == tuple(title for title, _ in LOOP)
    progress = StepProgress(Console(file=io.StringIO()), STEP_TITLES)
    total = len(STEP_TITLES)
    assert progress.label(FIRST_STEP) == f"[1/{total}] {FIRST_STEP}"
    assert progress.label("stop the model server").startswith("[10/")
    assert progress.label(LAST_STEP) == f"[{total}/{total}] {LAST_STEP}"


def test_a_step_runs_its_command_logs_it_line_by_line_and_records_its_seconds(
        tmp_path: Path, console: Console) -> None:
    with StepProgress(console, ["make pipeline", "make drift"]) as progress:
        run = demo_run(tmp_path, progress)
        with run.step("make pipeline"):
            returncode, output = run.execute("pipeline", printing("prepare", "train"))
    assert (returncode, output) == (0, "prepare\ntrain")
    log = tmp_path / "demo" / "logs" / "01-pipeline.log"
    assert log.read_text().startswith("$ ")
    assert log.read_text().splitlines()[-2:] == ["prepare", "train"]
    assert list(run.summary.step_seconds) == ["make pipeline"]
    lines = console.file.getvalue().splitlines()
    assert lines == ["[1/2] make pipeline ...",
                     f"✓ [1/2] make pipeline ({run.summary.step_seconds['make pipeline']:.1f} s)"]


def test_a_failing_command_fails_its_step_with_its_last_lines_and_log(
        tmp_path: Path, console: Console) -> None:
    with StepProgress(console, ["make drift"]) as progress:
        run = demo_run(tmp_path, progress)
        with pytest.raises(DemoError) as raised, run.step("make drift"):
            run.execute("drift", printing("reading the log", "no such column: age",
                                          exit_status=2))
    message = str(raised.value)
    assert "exited 2" in message and "no such column: age" in message
    assert str(tmp_path / "demo" / "logs" / "01-drift.log") in message
    assert console.file.getvalue().splitlines()[-1].startswith("✗ [1/1] make drift (")
    assert run.summary.step_seconds == {}


def test_an_allowed_exit_status_is_returned_not_raised(tmp_path: Path, console: Console) -> None:
    with StepProgress(console, ["make drift"]) as progress:
        run = demo_run(tmp_path, progress)
        with run.step("make drift"):
            returncode, output = run.execute("drift", printing("DRIFT: 3 of 4", exit_status=2),
                                             allowed=(0, 2))
    assert (returncode, output) == (2, "DRIFT: 3 of 4")
