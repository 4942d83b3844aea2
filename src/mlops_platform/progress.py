"""Progress where people wait: which step runs, how far along it is, and what it prints.

On a terminal a rich Progress shows one row per step: its mark, ``[n/N]``, its title, the
seconds it took or is taking, and the last line of the command it runs. Anywhere else (CI,
a pipe, a test) the output stays plain and line-based: one line when a step starts and one
when it ends.

``python -m mlops_platform.progress --title TITLE -- COMMAND ...`` runs one long command so
(the root Makefile installs the environments with it) and exits with the command's exit
status; on a terminal a failed command's last lines are printed after the display.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from rich.console import Console, RenderableType
from rich.progress import Progress, ProgressColumn, Task, TextColumn
from rich.spinner import Spinner
from rich.table import Column
from rich.text import Text

from mlops_platform.processes import stop_process_group

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
MARKS = {PENDING: Text("·", style="dim"), DONE: Text("✓", style="green"),
         FAILED: Text("✗", style="red")}
# user:password@ in an index or repository URL must not reach a terminal or a CI log.
CREDENTIALS_IN_URL = re.compile(r"(?<=://)[^/\s@]+@")
FAILED_COMMAND_TAIL = 40  # lines shown after a failed command, on a terminal
NOT_FOUND = 127  # what a shell returns for a command that does not exist
INTERRUPTED = 130


class CommandTimeoutError(RuntimeError):
    """A command ran past its timeout; its whole process group was stopped."""


class StepFailedError(RuntimeError):
    """Raised inside a step to mark it failed when nothing else raised (a non-zero exit)."""


def redact(line: str) -> str:
    return CREDENTIALS_IN_URL.sub("***@", line)


class _MarkColumn(ProgressColumn):
    """· waiting, a spinner while running, ✓ done, ✗ failed."""

    def __init__(self) -> None:
        super().__init__()
        self.spinner = Spinner("dots", style="cyan")

    def render(self, task: Task) -> RenderableType:
        state = task.fields["state"]
        return self.spinner.render(task.get_time()) if state == RUNNING else MARKS[state]


class _SecondsColumn(ProgressColumn):
    """Seconds of a started step, in the unit of the plain lines and the summary."""

    def render(self, task: Task) -> RenderableType:
        return Text("" if task.elapsed is None else f"{task.elapsed:.1f} s", style="dim")


class StepProgress:
    """The steps of one long job, in order; live on a terminal, plain lines elsewhere."""

    def __init__(self, console: Console, titles: Sequence[str]) -> None:
        if len(set(titles)) != len(titles):
            raise ValueError(f"step titles must be unique: {list(titles)}")
        self.console = console
        self.titles = list(titles)
        self.seconds: dict[str, float] = {}
        self.live = console.is_terminal and not console.is_dumb_terminal
        self._progress = Progress(
            _MarkColumn(), TextColumn("{task.description}", markup=False), _SecondsColumn(),
            TextColumn("{task.fields[status]}", markup=False, style="dim",
                       table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
            console=console, disable=not self.live, expand=True)
        self._tasks = {title: self._progress.add_task(self.label(title), start=False, total=1,
                                                      state=PENDING, status="")
                       for title in self.titles}
        self._running: str | None = None

    def label(self, title: str) -> str:
        return f"[{self.titles.index(title) + 1}/{len(self.titles)}] {title}"

    def __enter__(self) -> StepProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def __rich__(self) -> RenderableType:
        """The rows as a terminal shows them now."""
        return self._progress.get_renderable()

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        """Run one step: shown running, then done with its seconds, or failed (and re-raised)."""
        task = self._tasks[title]
        self._running = title
        self._progress.start_task(task)
        self._progress.update(task, state=RUNNING)
        self._plain(Text(f"{self.label(title)} ..."))
        began = time.monotonic()
        try:
            yield
        except BaseException:
            self._finish(title, FAILED, time.monotonic() - began)
            raise
        self.seconds[title] = round(time.monotonic() - began, 2)
        self._finish(title, DONE, self.seconds[title])

    def status(self, line: str) -> None:
        """The running step's latest output line (a terminal shows it; plain output does not)."""
        if self._running is not None:
            self._progress.update(self._tasks[self._running], status=redact(line.strip()))

    def _finish(self, title: str, state: str, seconds: float) -> None:
        task = self._tasks[title]
        self._progress.stop_task(task)
        self._progress.update(task, state=state, completed=1)
        if state == DONE:  # a failed step keeps its last line: often the error
            self._progress.update(task, status="")
        self._running = None
        self._plain(Text.assemble(MARKS[state], f" {self.label(title)} ",
                                  (f"({seconds:.1f} s)", "dim")))

    def _plain(self, text: Text) -> None:
        if not self.live:
            self.console.print(text, highlight=False)


def run_streamed(command: Sequence[str], on_line: Callable[[str], None], *,
                 cwd: os.PathLike[str] | str | None = None,
                 timeout: float | None = None) -> int:
    """Run ``command`` in a process group of its own and hand each line of its output
    (stdout and stderr merged) to ``on_line`` as it comes; return its exit status.

    On Ctrl-C, on a timeout or on any error the whole group (make, DVC, every stage) is
    stopped, not only its leader.
    """
    # Python children would hold their output in a block buffer until they exit.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace", start_new_session=True)
    timed_out = threading.Event()
    timer = threading.Timer(timeout or 0, _stop_on_timeout, (process.pid, timed_out))
    if timeout is not None:
        timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            on_line(line.rstrip("\n"))
        process.wait()
    except BaseException:
        stop_process_group(process.pid)
        raise
    finally:
        timer.cancel()
        if process.stdout is not None:
            process.stdout.close()
    if timed_out.is_set():
        # The group's last member may close its end of the pipe before it has exited:
        # return only once the timer's stop has seen the whole group gone.
        timer.join()
        raise CommandTimeoutError(f"`{' '.join(command)}` did not finish within {timeout:.0f} s; "
                              "it was stopped")
    return process.returncode


def _stop_on_timeout(pid: int, timed_out: threading.Event) -> None:
    timed_out.set()
    stop_process_group(pid)


def run_one_command(title: str, command: Sequence[str], console: Console) -> int:
    """``command`` as the single step ``title``; its exit status (127 if it does not exist)."""
    tail: collections.deque[str] = collections.deque(maxlen=FAILED_COMMAND_TAIL)
    returncode, missing = 0, False
    with StepProgress(console, [title]) as progress:

        def on_line(line: str) -> None:
            tail.append(redact(line))
            if progress.live:
                progress.status(line)
            else:
                console.print(redact(line), markup=False, highlight=False)

        try:
            with progress.step(title):
                returncode = run_streamed(command, on_line)
                if returncode != 0:
                    raise StepFailedError
        except StepFailedError:
            pass
        except FileNotFoundError:
            returncode, missing = NOT_FOUND, True
        except KeyboardInterrupt:
            returncode = INTERRUPTED
    if returncode != 0 and progress.live:
        console.print("\n".join(tail), markup=False, highlight=False)
    if missing:
        console.print(f"{title}: command not found: {command[0]}", markup=False, highlight=False)
    elif returncode not in (0, INTERRUPTED):
        console.print(f"{title}: failed with exit status {returncode}", markup=False,
                      highlight=False)
    return returncode


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.progress",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--title", required=True, help="what the command does, for people")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="the command and its arguments, after --")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command given: put it after --, e.g. --title 'install' -- uv pip sync")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_one_command(args.title, args.command, Console())


if __name__ == "__main__":
    raise SystemExit(main())
