"""What `make test` builds before pytest starts: tool environments and images.

Fixtures never build them (a build inside a fixture hides its time and its failures in
some test's setup); they check that make did, and name the target when it did not.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def built_environment(name: str) -> Path:
    """The tool environment `.venv-<name>` (`make .venv-<name>/.installed`); its bin folder."""
    stamp = REPO_ROOT / f".venv-{name}" / ".installed"
    assert stamp.is_file(), (f".venv-{name} is not built: run `make .venv-{name}/.installed` "
                             "(`make test` builds it before pytest)")
    return stamp.parent / "bin"


def built_images(names: list[str], tag: str) -> None:
    """The images `make images` builds, present in podman's storage."""
    missing = [name for name in names if subprocess.run(
        ["podman", "image", "exists", f"localhost/mlops-platform/{name}:{tag}"],
        capture_output=True, check=False).returncode != 0]
    assert not missing, (f"images not built: {', '.join(missing)}: run `make images` "
                         "(`make test` builds them before pytest)")
