"""Names a project may not take: its package or distribution would hide a dependency.

A project's `src/<package_name>` comes first on its path, so a package named like a
module it imports (`mlflow`, `json`) hides that module; a distribution named like a
locked one (`mlflow`) replaces it in `make venv`. The bake runs in a plain cookiecutter,
where the project's dependencies are not installed: the distributions come from the lock
and their import names, where they differ from the distribution's name, from
`import_names.json`, written from a real environment by

    .venv/bin/python -m mlops_platform.scaffold.shadowing
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

IMPORT_NAMES_FILE = Path(__file__).with_name("import_names.json")
# What a project's `make venv` installs: this lock, and the platform package on top of it.
PROJECT_LOCK = Path("requirements/project.txt")
PLATFORM_DISTRIBUTION = "mlops-platform"

_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==", re.MULTILINE)
_PACKAGE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def canonical(distribution: str) -> str:
    """The distribution's normalised name (PEP 503): `PyYAML` and `pyyaml` are one."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def locked_distributions(lock: Path) -> list[str]:
    """The distributions a hashed lock pins, normalised, plus the platform package."""
    names = {canonical(name) for name, _extras in _PINNED.findall(lock.read_text())}
    return sorted(names | {PLATFORM_DISTRIBUTION})


def import_names(distributions: Iterable[str]) -> dict[str, str]:
    """Import name -> the distribution that provides it."""
    differing: dict[str, list[str]] = json.loads(IMPORT_NAMES_FILE.read_text())
    names: dict[str, str] = {}
    for distribution in distributions:
        for name in differing.get(distribution, [distribution.replace("-", "_")]):
            names.setdefault(name, distribution)
    return names


def shadowed_by_package(package_name: str, lock: Path) -> str | None:
    """What a package of this name would hide: a standard-library module or a dependency."""
    if package_name in sys.stdlib_module_names:
        return f"the standard-library module {package_name}"
    distribution = import_names(locked_distributions(lock)).get(package_name)
    if distribution is None:
        return None
    if package_name == distribution.replace("-", "_"):
        return f"the dependency {distribution}"
    return f"{package_name}, the module of the dependency {distribution},"


def replaced_by_distribution(project_slug: str, lock: Path) -> str | None:
    """The locked distribution a project distribution of this name would replace."""
    name = canonical(project_slug)
    return name if name in locked_distributions(lock) else None


def differing_import_names(distributions: Iterable[str]) -> dict[str, list[str]]:
    """From this environment: the import names of each distribution where they are not
    just its name with `_` for `-`, keeping those a package name could clash with."""
    from importlib.metadata import distributions as installed_distributions
    from importlib.metadata import packages_distributions
    from importlib.util import find_spec

    installed = {canonical(each.metadata["Name"]) for each in installed_distributions()}

    provided: dict[str, set[str]] = {}
    for name, providers in packages_distributions().items():
        # Only names a package name can take (not `_private`, `PIL`), and only importable
        # ones (not `bin` or `share` from a distribution's file list).
        if _PACKAGE_NAME.fullmatch(name) and find_spec(name) is not None:
            for provider in providers:
                provided.setdefault(canonical(provider), set()).add(name)
    return {distribution: sorted(provided.get(distribution, set()))
            for distribution in distributions
            if distribution in installed
            and provided.get(distribution, set()) != {distribution.replace("-", "_")}}


def write_import_names(lock: Path) -> None:
    data = differing_import_names(locked_distributions(lock))
    IMPORT_NAMES_FILE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    write_import_names(Path(__file__).resolve().parents[3] / PROJECT_LOCK)
