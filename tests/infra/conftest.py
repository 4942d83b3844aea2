"""The committed stacks, run once per session under Pulumi's mocks."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import STACKS
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import RecordedStack, run_stack
from tests.infra.stacks import pinned_images


@pytest.fixture(scope="session")
def recorded_stacks() -> dict[str, RecordedStack]:
    """Each committed stack as it renders once its image digests are filled in."""
    return {stack: run_stack(stack, pinned_images(stack)) for stack in STACKS}


@pytest.fixture(scope="session")
def stack_manifests(recorded_stacks: dict[str, RecordedStack]) -> dict[str, list[dict[str, Any]]]:
    return {stack: to_manifests(recorded.resources, redact=False)
            for stack, recorded in recorded_stacks.items()}


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return request.param
