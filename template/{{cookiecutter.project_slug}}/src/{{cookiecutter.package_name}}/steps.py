"""Runs one pipeline step: known failures become one line on stderr and exit code 1."""

from __future__ import annotations

import sys
from collections.abc import Callable

from infra.outputs import PlatformOutputsError

from {{ cookiecutter.package_name }}.contract import DataContractError
from {{ cookiecutter.package_name }}.platform import TrackingServerUnreachableError

KNOWN_FAILURES = (DataContractError, TrackingServerUnreachableError, PlatformOutputsError)


def run_step(name: str, step: Callable[[], None]) -> int:
    try:
        step()
    except KNOWN_FAILURES as err:
        print(f"error: {name} stopped: {err}", file=sys.stderr)
        return 1
    return 0
