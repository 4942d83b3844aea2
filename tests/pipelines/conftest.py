"""Projects baked once per level and provider, with real cookiecutter, for the CI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.template.baking import LEVELS, PROVIDERS, bake


@pytest.fixture(scope="session")
def baked_projects(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """(level, provider) -> the root of a freshly baked project (git and DVC initialised)."""
    root = tmp_path_factory.mktemp("ci-projects")
    # A registered model of its own each: the gate's audit chain is per model.
    return {(level, provider): bake(root / f"level{level}-{provider}", maturity_level=level,
                                    ci_provider=provider, model_name=f"ci-{level}-{provider}")
            for level in LEVELS for provider in PROVIDERS}
