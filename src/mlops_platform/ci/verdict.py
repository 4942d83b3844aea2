"""A monitoring check's exit status as a verdict that CI can branch on.

``python -m mlops_platform.ci.verdict --output FILE -- COMMAND...`` runs a check that exits
0 (healthy), 1 (drift or degradation: retrain) or 2 (could not check), and appends
``MLOPS_VERDICT=healthy`` or ``MLOPS_VERDICT=retrain`` to FILE: GitHub's ``$GITHUB_OUTPUT``
(a step output the retrain job's ``if:`` reads) or a GitLab dotenv report (a variable the
retrain job's script reads). Both verdicts exit 0: the check did its job. Any other status
means nobody knows whether to retrain, so nothing is recorded and this exits 2 with one line
that says so: the job goes red instead of retraining, or not, on a guess.

Why a wrapper: ``make`` reports every failing recipe as 2, and a CI job knows only pass or
fail, so the check's three answers would otherwise reach CI as two.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

VERDICT_KEY = "MLOPS_VERDICT"
HEALTHY, RETRAIN = "healthy", "retrain"
VERDICTS = {0: HEALTHY, 1: RETRAIN}
UNCHECKED = 2


def verdict_of(status: int) -> str | None:
    """The verdict a check's exit status means, or None when it could not check."""
    return VERDICTS.get(status)


def record(output: Path, key: str, verdict: str) -> None:
    # Appended: GitHub's output file holds the outputs of every step of the job.
    with output.open("a") as file:
        file.write(f"{key}={verdict}\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_platform.ci.verdict",
        description="Run a monitoring check (exit 0 healthy, 1 retrain, 2 could not check) and "
                    "record its verdict for CI; exit 0 on a verdict, 2 without one.")
    parser.add_argument("--output", type=Path, required=True,
                        help="file the verdict is appended to ($GITHUB_OUTPUT, a dotenv report)")
    parser.add_argument("--key", default=VERDICT_KEY, help=f"name of the verdict (default "
                        f"{VERDICT_KEY})")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="the check and its arguments, after --")
    args = parser.parse_args(argv)
    args.command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not args.command:
        parser.error("no check to run: give it after --, e.g. -- python -m my_project.monitor")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        status = subprocess.run(args.command, check=False).returncode
    except OSError as error:
        print(f"error: cannot run {args.command[0]}: {error}", file=sys.stderr)
        return UNCHECKED
    verdict = verdict_of(status)
    if verdict is None:
        print(f"error: {' '.join(args.command)} could not check (exit {status}; its message is "
              "above): no verdict, so nothing is retrained. Fix what it names and run it again.",
              file=sys.stderr)
        return UNCHECKED
    record(args.output, args.key, verdict)
    print(f"verdict: {verdict} (exit {status}), recorded as {args.key} in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
