"""The files from which a project builds its own environments (`make venv`, `make serve`).

The bake copies the platform's hashed locks into the project, so a project installs
exactly the versions this platform release is tested with, and names where the
platform package itself comes from.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# Platform lock (in the checkout) -> the project's copy.
LOCKS = {
    Path("requirements/project.txt"): Path("requirements.lock"),
    Path("requirements/mlserver.txt"): Path("requirements-serving.lock"),
    Path("requirements/bootstrap.txt"): Path("requirements-bootstrap.lock"),  # uv, by pip
}
PROJECT_LOCK_COPY = Path("requirements.lock")
PLATFORM_REQUIREMENT_FILE = Path("requirements-platform.txt")
LOCAL_PACKAGE = "local"
# What the project imports of the platform package (see the package's extras).
PLATFORM_EXTRAS = "drift,serving"


# A project with a Feast feature store installs Feast besides (the template's feature_store).
FEATURE_STORE_LOCKS = {"feast": Path("requirements/project-feast.txt")}


def copy_locks(platform_checkout: Path, project_dir: Path, feature_store: str = "none") -> None:
    for source, target in LOCKS.items():
        if target == PROJECT_LOCK_COPY:
            source = FEATURE_STORE_LOCKS.get(feature_store, source)
        shutil.copyfile(platform_checkout / source, project_dir / target)


def platform_requirement(platform_package: str, platform_checkout: Path) -> str:
    """`local`: a wheel built from the checkout the project was baked from; else as given."""
    if platform_package == LOCAL_PACKAGE:
        return f"mlops-platform[{PLATFORM_EXTRAS}] @ {platform_checkout.resolve().as_uri()}"
    return platform_package


def write_platform_requirement(project_dir: Path, platform_package: str,
                               platform_checkout: Path) -> None:
    requirement = platform_requirement(platform_package, platform_checkout)
    (project_dir / PLATFORM_REQUIREMENT_FILE).write_text(
        "# The mlops-platform package; `make venv` installs it on top of requirements.lock\n"
        "# (which pins every dependency it has). Change it to move to another platform release.\n"
        f"{requirement}\n")
