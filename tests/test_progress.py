"""Progress where people wait: real commands (python -c) under the step display, plain and live."""

from __future__ import annotations

import io
import subprocess
import sys
import time

import pytest
from rich.console import Console

from mlops_platform.processes import process_is_running
from mlops_platform.progress import (
    CommandTimeoutError,
    StepProgress,
    run_streamed,
)

WRAPPER = [sys.executable, "-m", "mlops_platform.progress"]


def printing(*lines: str, exit_status: int = 0) -> list[str]:
    """A real command that prints ``lines`` one by one, then exits with ``exit_status``."""
    code = f"for line in {list(lines)!r}: print(line, flush=True)\nraise SystemExit({exit_status})"
    return [sys.executable, "-c", code]


def plain_console() -> Console:
    return Console(file=io.StringIO(), force_terminal=False, width=200)


def terminal_console() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=200)


def wrap(title: str, command: list[str]) -> subprocess.CompletedProcess[str]:
    """`python -m mlops_platform.progress` as make runs it, its output captured (no TTY)."""
    return subprocess.run([*WRAPPER, "--title", title, "--", *command],
                          capture_output=True, text=True, timeout=60)


def test_the_wrapper_streams_plain_lines_and_passes_the_exit_status_through() -> None:
    result = wrap("install the things", printing("Resolved 3 packages", "Installed 3 packages",
                                                 exit_status=3))
    assert result.returncode == 3
    lines = result.stdout.splitlines()
    assert lines[0] == "[1/1] install the things ..."
    assert lines[1:3] == ["Resolved 3 packages", "Installed 3 packages"]
    assert lines[3].startswith("✗ [1/1] install the things (")
    assert lines[4] == "install the things: failed with exit status 3"


def test_the_wrapper_succeeds_with_its_command() -> None:
    result = wrap("install", printing("done"))
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1].startswith("✓ [1/1] install (")


def test_the_wrapper_names_a_command_that_does_not_exist() -> None:
    result = wrap("install", ["/nonexistent/uv", "pip", "sync"])
    assert result.returncode == 127
    assert "install: command not found: /nonexistent/uv" in result.stdout


def test_the_wrapper_without_a_command_is_a_one_line_usage_error() -> None:
    result = subprocess.run([*WRAPPER, "--title", "install"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "no command given: put it after --" in result.stderr
    assert "Traceback" not in result.stderr


def test_credentials_in_a_url_never_reach_the_output() -> None:
    result = wrap("install", printing("Using index https://builder:s3cret@pypi.example/simple"))
    assert "s3cret" not in result.stdout
    assert "https://***@pypi.example/simple" in result.stdout


def test_plain_steps_count_n_of_n_and_a_failed_step_is_marked_and_raised() -> None:
    console = plain_console()
    with StepProgress(console, ["bake", "pipeline", "serve"]) as progress:
        with progress.step("bake"):
            assert run_streamed(printing("baked"), progress.status) == 0
        with pytest.raises(RuntimeError, match="make pipeline exited 2"), \
                progress.step("pipeline"):
            raise RuntimeError("make pipeline exited 2")
    lines = console.file.getvalue().splitlines()
    assert lines[0] == "[1/3] bake ..."
    assert lines[1].startswith("✓ [1/3] bake (") and lines[1].endswith(" s)")
    assert lines[2] == "[2/3] pipeline ..."
    assert lines[3].startswith("✗ [2/3] pipeline (")
    assert len(lines) == 4  # the command's own lines and the step never run stay out
    assert set(progress.seconds) == {"bake"} and progress.seconds["bake"] >= 0


def test_live_rows_show_every_step_and_the_running_commands_last_line() -> None:
    console = terminal_console()
    snapshot = Console(file=io.StringIO(), width=200, color_system=None)
    with StepProgress(console, ["bake", "pipeline", "serve"]) as progress:
        assert progress.live
        with progress.step("bake"):
            pass
        with progress.step("pipeline"):
            run_streamed(printing("stage prepare", "stage train"), progress.status)
            snapshot.print(progress)
    rows = snapshot.file.getvalue().splitlines()
    assert rows[0].startswith("✓ [1/3] bake ")
    assert "[2/3] pipeline" in rows[1] and rows[1].rstrip().endswith("stage train")
    assert rows[2].startswith("· [3/3] serve")


def test_step_titles_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        StepProgress(plain_console(), ["promote", "promote"])


def test_a_command_past_its_timeout_is_stopped_with_its_whole_group() -> None:
    pids: list[int] = []
    # The command starts a child that would outlive it, then both wait far past the timeout.
    code = ("import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(120)")
    began = time.monotonic()
    with pytest.raises(CommandTimeoutError, match="did not finish within 1 s"):
        run_streamed([sys.executable, "-c", code], lambda line: pids.append(int(line)),
                     timeout=1)
    assert time.monotonic() - began < 60
    assert pids and not process_is_running(pids[0])
