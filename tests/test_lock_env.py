"""Environments from hashed locks through the shared cache: real uv, a one-package lock."""

from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from mlops_platform import lock_env
from mlops_platform.lock_env import LinkCount, cache_key, install, link_tree
from tests.template.baking import REPO_ROOT

UV = str(Path(sys.executable).parent / "uv")
SITE = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
PYC = f"__pycache__/six.cpython-{sys.version_info.major}{sys.version_info.minor}.pyc"


def one_package_lock(tmp_path: Path) -> Path:
    """six, pinned with its hashes exactly as requirements/platform.txt has it."""
    block = re.search(r"^six==.*?(?=^\S)", (REPO_ROOT / "requirements/platform.txt").read_text(),
                      re.MULTILINE | re.DOTALL)
    assert block is not None
    lock = tmp_path / "requirements.lock"
    lock.write_text(block.group(0))
    return lock


def plain_console() -> Console:
    return Console(file=io.StringIO(), force_terminal=False, width=200)


def printed(console: Console) -> str:
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_link_tree_links_files_and_symlinks_and_keeps_what_is_there(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    (source / "lib" / "pkg").mkdir(parents=True)
    (source / "lib" / "pkg" / "module.py").write_text("new")
    (source / "lib" / "kept.py").write_text("from the cache")
    (source / "lib64").symlink_to("lib")
    (target / "lib").mkdir(parents=True)
    (target / "lib" / "kept.py").write_text("already there")

    assert link_tree(source, target) == LinkCount(linked=2, kept=1)

    module = target / "lib" / "pkg" / "module.py"
    assert module.stat().st_ino == (source / "lib" / "pkg" / "module.py").stat().st_ino
    assert (target / "lib" / "kept.py").read_text() == "already there"
    assert os.readlink(target / "lib64") == "lib"


def test_link_tree_copies_with_the_modification_time_where_links_fail(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "module.py").write_text("x = 1\n")
    os.utime(source / "module.py", (1_000_000_000, 1_000_000_000))

    def across_file_systems(origin: str, copy: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(lock_env.os, "link", across_file_systems)
    link_tree(source, tmp_path / "target")

    copy = tmp_path / "target" / "module.py"
    assert copy.stat().st_ino != (source / "module.py").stat().st_ino
    assert copy.stat().st_mtime == 1_000_000_000  # what bytecode checks its source against


def test_the_second_install_of_a_lock_links_the_first_one_bytecode_included(
        tmp_path: Path) -> None:
    lock, cache = one_package_lock(tmp_path), tmp_path / "cache"
    first, second = plain_console(), plain_console()

    cached = install(UV, lock, tmp_path / "one", cache, first)
    install(UV, lock, tmp_path / "two", cache, second)

    assert "not in the shared cache yet" in printed(first)
    assert f"reusing the environment installed before in {cached}" in printed(second)
    assert cached == cache / cache_key(lock)
    for installed in (f"{SITE}/six.py", f"{SITE}/{PYC}"):
        inodes = {(root / installed).stat().st_ino for root in (cached, tmp_path / "one",
                                                                  tmp_path / "two")}
        assert len(inodes) == 1, installed
    assert [path.name for path in cache.iterdir()] == [cached.name]  # no half-built folder


def test_an_environment_from_the_cache_runs_where_it_was_linked(tmp_path: Path) -> None:
    lock = one_package_lock(tmp_path)
    install(UV, lock, tmp_path / "env", tmp_path / "cache", plain_console())
    found = subprocess.run([str(tmp_path / "env" / "bin" / "python"), "-c",
                            "import six, sys; print(sys.prefix, six.__file__)"],
                           capture_output=True, text=True, check=True, timeout=60)
    prefix, module = found.stdout.split()
    assert Path(prefix) == tmp_path / "env"
    assert Path(module) == tmp_path / "env" / SITE / "six.py"


def test_a_lock_that_does_not_install_fails_in_one_line_and_leaves_no_cache(
        tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("no-such-package-anywhere==0.0.1 --hash=sha256:" + "0" * 64 + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "mlops_platform.lock_env", "--uv", UV, "--lock", str(lock),
         "--venv", str(tmp_path / "env"), "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert f"error: installing {lock} into {tmp_path / 'env'} failed" in result.stdout
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_missing_lock_is_named_with_the_fix(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlops_platform.lock_env", "--uv", UV, "--lock",
         str(tmp_path / "requirements.lock"), "--venv", str(tmp_path / "env")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"no lock file {tmp_path / 'requirements.lock'}" in result.stderr
