"""A command stopped with SIGTERM while it starts its servers still stops them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_platform.processes import (
    process_is_running,
    stop_process_group,
    terminate_as_interrupt,
)

# Starts a server-like child in a group of its own, says its pid, then waits to be stopped.
COMMAND = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mlops_platform.processes import (
        start_process_group, stop_process_group, terminate_as_interrupt)

    with terminate_as_interrupt():
        child = start_process_group(["sleep", "300"], Path(sys.argv[1]))
        try:
            print(child.pid, flush=True)
            time.sleep(120)
        finally:
            stop_process_group(child.pid)
""")


def test_sigterm_inside_raises_keyboard_interrupt_and_the_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_command_terminated_while_it_runs_stops_what_it_started(tmp_path: Path) -> None:
    command = subprocess.Popen(
        [sys.executable, "-c", COMMAND, str(tmp_path / "child.log")], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": "src"})
    child = int(command.stdout.readline())
    try:
        assert process_is_running(child)
        command.send_signal(signal.SIGTERM)
        _, errors = command.communicate(timeout=30)
        assert "KeyboardInterrupt" in errors  # it unwound, as from Ctrl-C
        assert not process_is_running(child)
    finally:
        command.kill()
        stop_process_group(child)  # what a failure would leave behind
