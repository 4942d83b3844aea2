"""A local cache of probe outcomes, keyed by a content hash of what the probe can read.

Probes (the project's tests, the mutants, the steps on good and corrupted data) take
minutes; on an unchanged project their outcome is the same. An outcome is stored under
the SHA-256 of: the probe (its key), every file of the project a probe can see (the
working copy minus what no project code reads: CI files, deploy/, the audit log, the
root's Markdown; the step probes also skip tests/), the project's Python environment (its
interpreter and installed distributions) and the checker's own code. Any byte changed in
any of them is another key, so the probe runs again.

The cache is a convenience for one person's machine, never evidence for anyone else: it
lives outside the project (a commit cannot carry one), it is off in CI (`CI` is set by
GitHub Actions and GitLab CI) and nothing but `mlops-policy check` reads it. The promotion
gate never runs probes; it recomputes what it relies on.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mlops_platform
from mlops_platform.governance import probes

CACHE_VARIABLE = "MLOPS_CHECK_CACHE"
# Read by no probe: editing them re-runs nothing.
NOT_READ_AT_ROOT = {".github", ".gitlab-ci.yml", "deploy", "governance", ".cruft.json",
                    ".pre-commit-config.yaml"}
TESTS_DIR = "tests"


def default_directory() -> Path | None:
    """Where `mlops-policy check` keeps outcomes; None (no cache) in CI."""
    if os.environ.get("CI"):
        return None
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlops-platform" / "check"


def _read_by_probes(relative: Path, with_tests: bool) -> bool:
    top = relative.parts[0]
    if top in probes.SKIPPED_AT_ROOT or top in NOT_READ_AT_ROOT:
        return False
    if len(relative.parts) == 1 and relative.suffix == ".md":
        return False
    if top == ".dvc" and len(relative.parts) > 1 and relative.parts[1] in probes.SKIPPED_IN_DVC:
        return False
    if any(part in probes.SKIPPED_ANYWHERE for part in relative.parts):
        return False
    return with_tests or top != TESTS_DIR


def _digest_files(root: Path, paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        if path.is_symlink():
            digest.update(b"link:" + os.readlink(path).encode())
        else:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def project_digest(root: Path, with_tests: bool) -> str:
    """Hash of every file of the project a probe can read (tests/ only `with_tests`)."""
    found = []
    for directory, names, files in os.walk(root):
        here = Path(directory)
        names[:] = [name for name in names
                    if _read_by_probes((here / name).relative_to(root), with_tests)]
        found += [here / name for name in files
                  if _read_by_probes((here / name).relative_to(root), with_tests)]
    return _digest_files(root, found)


def environment_digest(python: str) -> str:
    """Hash of the interpreter the probes run and the distributions it has installed."""
    prefix = Path(python).parent.parent
    installed = sorted(prefix.glob("lib/python*/site-packages/*.dist-info"))
    editable = sorted(prefix.glob("lib/python*/site-packages/*.pth"))
    digest = hashlib.sha256(os.path.realpath(python).encode())
    digest.update("\n".join(path.name for path in installed).encode())
    digest.update(_digest_files(prefix, editable).encode())
    return digest.hexdigest()


def checker_digest() -> str:
    """Hash of the checker's own package: a changed probe is another verdict."""
    package = Path(mlops_platform.__file__).parent
    return _digest_files(package, package.rglob("*.py"))


class ProbeCache:
    """Outcomes of probes as JSON files named by their key's hash, in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self, key: str) -> dict[str, Any] | None:
        path = self.directory / f"{key}.json"
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return stored if isinstance(stored, dict) else None

    def store(self, key: str, outcome: dict[str, Any]) -> None:
        """Write atomically: a check interrupted mid-write leaves no half entry."""
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f"{key}.{os.getpid()}.tmp"
        partial.write_text(json.dumps(outcome))
        partial.replace(self.directory / f"{key}.json")


def probe_key(probe: Any, *digests: str) -> str:
    return hashlib.sha256(json.dumps([repr(probe), *digests]).encode()).hexdigest()
