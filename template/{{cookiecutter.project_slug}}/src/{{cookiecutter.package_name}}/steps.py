"""Runs one pipeline step: known failures become one line on stderr and exit code 1."""

from __future__ import annotations

import sys
from collections.abc import Callable

from mlops_platform.contract import PlatformOutputsError

from {{ cookiecutter.package_name }} import errors

KNOWN_FAILURES = (errors.DataContractError, errors.TrackingServerUnreachableError,
                  PlatformOutputsError)


def run_step(name: str, step: Callable[[], None]) -> int:
    try:
        step()
    except KNOWN_FAILURES as err:
        print(f"error: {name} stopped: {err}", file=sys.stderr)
        return 1
    return 0
