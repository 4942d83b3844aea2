"""Fixtures of the serving tests: MLServer's own environment, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.built import built_environment

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mlserver_installed() -> Path:
    # Built from requirements/mlserver.txt like `make serve` users get it (~2 s with a warm cache).
    return built_environment("mlserver") / "mlserver"
