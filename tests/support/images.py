"""The platform's images, built once per test session by the README's command."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.support.built import built_images

REPO_ROOT = Path(__file__).resolve().parents[2]
PLATFORM_VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


IMAGES = ["mlflow-server", "serving", "tools", "standin-postgres", "standin-object-store",
          "standin-prometheus"]


def build_platform_images() -> str:
    """The images `make images` built (`make test` runs it first); their tag."""
    built_images(IMAGES, PLATFORM_VERSION)
    return PLATFORM_VERSION
