"""Fixtures shared by every test folder: real servers, always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.outputs import PlatformOutputs
from tests.support.servers import running_local_platform

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_platform_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-platform")


@pytest.fixture(scope="session")
def shared_platform(shared_platform_dir: Path) -> Iterator[PlatformOutputs]:
    """One local platform for the whole session; tests that need a pristine one start their own."""
    with running_local_platform(shared_platform_dir / "state") as outputs:
        yield outputs


@pytest.fixture(scope="session")
def shared_platform_outputs_file(
    shared_platform: PlatformOutputs, shared_platform_dir: Path
) -> Path:
    return shared_platform_dir / "state" / "outputs.json"
