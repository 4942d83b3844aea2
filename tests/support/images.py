"""The platform's images, built once per test session by the README's command."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PLATFORM_VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


def build_platform_images() -> str:
    """`make images` (a no-op for images already built); the tag it built."""
    result = subprocess.run(["make", "--no-print-directory", "images"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise AssertionError(f"make images failed:\n{result.stdout[-6000:]}\n"
                             f"{result.stderr[-6000:]}")
    return PLATFORM_VERSION
