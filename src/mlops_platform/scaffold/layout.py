"""What a baked project keeps: the template renders everything, then this removes
what the chosen maturity level, CI provider and feature store do not use."""

from __future__ import annotations

import shutil
from pathlib import Path

CI_FILES = {"github": (".github",), "gitlab": (".gitlab-ci.yml",)}
# Paths only a level from this one up uses.
PATHS_FROM_LEVEL = {2: ("deploy", "canary.yaml", ".github/workflows/deploy-preview.yml")}
# Paths only a project with a feature store uses ({package} is its package's folder).
FEATURE_STORE_PATHS = ("feature_repo", "src/{package}/feature_store.py",
                       "tests/test_feature_store.py")
# Tool caches a template checkout may hold (ruff or pytest run on it): never part of a project.
CACHE_DIRS = (".ruff_cache", ".pytest_cache", "__pycache__")


def unused_paths(level: int, ci_provider: str, feature_store: str = "none",
                 package: str = "") -> list[str]:
    paths = [path for provider, files in CI_FILES.items() if provider != ci_provider
             for path in files]
    paths += [path for min_level, files in PATHS_FROM_LEVEL.items() if level < min_level
              for path in files]
    if feature_store == "none":
        paths += [path.format(package=package) for path in FEATURE_STORE_PATHS]
    return paths


def remove_unused(project_dir: Path, level: int, ci_provider: str, feature_store: str = "none",
                  package: str = "") -> None:
    # The CI files and deploy/ come from other parts of the template: absent is fine.
    for relative in unused_paths(level, ci_provider, feature_store, package):
        path = project_dir / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for cache in [path for name in CACHE_DIRS for path in project_dir.rglob(name)]:
        shutil.rmtree(cache, ignore_errors=True)
