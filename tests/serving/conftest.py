"""Fixtures of the serving tests: MLServer's own environment, built once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_platform.serving import DEFAULT_MLSERVER

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mlserver_installed() -> Path:
    # Built from requirements/mlserver.txt like `make serve` users get it (~2 s with a warm cache).
    if not (REPO_ROOT / DEFAULT_MLSERVER).is_file():
        subprocess.run(["make", ".venv-mlserver/.installed"], cwd=REPO_ROOT, check=True)
    return REPO_ROOT / DEFAULT_MLSERVER
