"""Runs one pipeline step: params.yaml is checked first; known failures become one line on
stderr and an exit code (1 unless the step documents another)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from mlops_platform.api import ParamsError, PlatformOutputsError

from {{ cookiecutter.package_name }} import errors
from {{ cookiecutter.package_name }}.params import load_params

KNOWN_FAILURES = (ParamsError, errors.DataContractError, errors.TrackingServerUnreachableError,
                  errors.ModelQualityError, PlatformOutputsError)


def run_step(name: str, step: Callable[[], int | None], failure_code: int = 1) -> int:
    try:
        load_params()  # a bad params.yaml stops every step before it reads or writes anything
        return step() or 0
    except KNOWN_FAILURES as err:
        print(f"error: {name} stopped: {err}", file=sys.stderr)
        return failure_code
