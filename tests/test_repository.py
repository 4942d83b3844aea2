"""Repository-wide rules: lint clean, hashed locks, no registry addresses in any committed file."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Host names of package and image registries that must never be committed.
REGISTRY_HOSTS = re.compile(
    r"pypi\.org|pythonhosted\.org|registry\.npmjs\.org|registry\.yarnpkg\.com|"
    r"ghcr\.io|docker\.io|quay\.io|gcr\.io|registry\.k8s\.io|deb\.debian\.org|"
    r"security\.debian\.org|download\.pytorch\.org"
)
FORBIDDEN_LOCKS = {"uv.lock", "poetry.lock", "Pipfile.lock"}


def committed_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    return [REPO_ROOT / name for name in listed.decode().split("\0") if name]


def test_no_registry_address_in_any_committed_file() -> None:
    offenders = []
    for path in committed_files():
        if path.is_file() and REGISTRY_HOSTS.search(path.read_text(errors="ignore")):
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []


def test_no_lock_format_that_records_urls() -> None:
    assert [p.name for p in committed_files() if p.name in FORBIDDEN_LOCKS] == []


def test_every_python_lock_pins_exact_versions_with_hashes() -> None:
    locks = sorted((REPO_ROOT / "requirements").glob("*.txt"))
    assert locks, "requirements/*.txt locks are missing"
    for lock in locks:
        text = lock.read_text()
        requirements = re.findall(r"^([A-Za-z0-9_.\[\]-]+)(\S*) \\$", text, flags=re.MULTILINE)
        assert requirements, f"{lock.name} pins nothing"
        for name, spec in requirements:
            assert spec.startswith("=="), f"{lock.name}: {name} is not pinned exactly"
        assert text.count("==") <= text.count("--hash=sha256:"), f"{lock.name} lacks hashes"


def test_ruff_passes_on_the_repository() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_environment_ships_precompiled_bytecode() -> None:
    # Without it every DVC stage and hook recompiles MLflow and DVC (bench/template).
    for package in ("mlflow", "dvc", "sklearn"):
        origin = importlib.util.find_spec(package).origin
        assert Path(importlib.util.cache_from_source(origin)).exists(), (
            f"{package} has no bytecode in {sys.prefix}: rebuild it with `make venv` "
            "(uv pip sync --compile-bytecode)")
