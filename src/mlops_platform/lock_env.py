"""Virtual environments from hashed locks, installed once per lock and linked into place.

The first install of a lock (uv, ``--require-hashes``, bytecode compiled) goes into a shared
cache, one relocatable environment per lock content and Python version; every environment
built from the same lock afterwards gets hard links to its files, bytecode included, so a
second project with the same ``requirements.lock`` is ready in seconds and takes no space.
A cache on another file system is copied instead (modification times kept, so the bytecode
stays valid).

``python -m mlops_platform.lock_env --uv UV --lock requirements.lock --venv .venv`` adds the
lock's packages to ``--venv`` (created from the cache when it does not exist; files already
there, such as the bootstrap's rich at the lock's version, are kept). It runs with rich
importable: a project's Makefile installs rich and the platform package into the new
environment first.

Files are shared the way uv's own cache shares them (hard links): edit no installed file in
place. Where the cache lives: ``--cache-dir``, else ``$MLOPS_ENV_CACHE``, else
``$XDG_CACHE_HOME/mlops-platform/envs`` (``~/.cache/mlops-platform/envs``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from mlops_platform.progress import StepFailedError, StepProgress, run_streamed

CACHE_DIR_ENV = "MLOPS_ENV_CACHE"
# Errors after which a copy replaces the hard link: another file system, a link count limit,
# a file system without hard links.
COPY_INSTEAD = {errno.EXDEV, errno.EMLINK, errno.EPERM, errno.ENOTSUP}


class LockEnvError(RuntimeError):
    """The install failed; the message names the step and the fix."""


@dataclass(frozen=True)
class LinkCount:
    linked: int
    kept: int


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "mlops-platform" / "envs"


def cache_key(lock: Path) -> str:
    """The lock's content and this interpreter's version: what the installed files depend on."""
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    return f"{digest}-py{sys.version_info.major}{sys.version_info.minor}"


def install_into_cache(uv: str, lock: Path, cached: Path, progress: StepProgress,
                       title: str, console: Console) -> None:
    """Build the lock's environment beside ``cached`` and move it there in one rename, so a
    half-built one is never used and two builds at once leave one."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{cached.name}-", dir=cached.parent))
    python = building / "bin" / "python"
    try:
        with progress.step(title):
            for command in (
                [uv, "venv", "--quiet", "--allow-existing", "--relocatable",
                 "--python", sys.executable, str(building)],
                [uv, "pip", "sync", "--compile-bytecode", "--require-hashes",
                 "--python", str(python), str(lock)],
            ):
                _run(command, progress, console)
        try:
            building.rename(cached)
        except OSError:  # another build of the same lock finished first: use that one
            if not cached.is_dir():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _run(command: list[str], progress: StepProgress, console: Console) -> None:
    def on_line(line: str) -> None:
        if progress.live:
            progress.status(line)
        else:
            console.print(line, markup=False, highlight=False, soft_wrap=True)

    if run_streamed(command, on_line) != 0:
        raise StepFailedError(f"`{' '.join(command)}` failed")


def link_tree(source: Path, target: Path) -> LinkCount:
    """Hard-link every file of ``source`` into ``target`` (copy across file systems), keeping
    the files and symbolic links ``target`` already has.

    One system call per file where it can (tens of thousands of files per environment).
    """
    linked = kept = 0
    target.mkdir(parents=True, exist_ok=True)
    folders = [(str(source), str(target))]
    while folders:
        origin_folder, copy_folder = folders.pop()
        with os.scandir(origin_folder) as entries:
            for entry in entries:
                copy = os.path.join(copy_folder, entry.name)
                if entry.is_dir(follow_symlinks=False):
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(copy)
                    folders.append((entry.path, copy))
                    continue
                try:
                    if entry.is_symlink():
                        os.symlink(os.readlink(entry.path), copy)
                    else:
                        _link_or_copy(entry.path, copy)
                    linked += 1
                except FileExistsError:
                    kept += 1
    return LinkCount(linked, kept)


def _link_or_copy(origin: str, copy: str) -> None:
    try:
        os.link(origin, copy)
    except OSError as err:
        if err.errno not in COPY_INSTEAD:
            raise
        if os.path.lexists(copy):
            raise FileExistsError(errno.EEXIST, "exists", copy) from err
        shutil.copy2(origin, copy)


def install(uv: str, lock: Path, venv: Path, cache_dir: Path, console: Console) -> Path:
    """Add the packages of ``lock`` to ``venv`` from the shared cache; return the cached
    environment used."""
    cached = cache_dir / cache_key(lock)
    reused = cached.is_dir()
    build_title = f"install {lock} once into the shared cache"
    link_title = f"link the packages of {lock} into {venv}"
    console.print(f"{lock}: reusing the environment installed before in {cached}" if reused
                  else f"{lock}: not in the shared cache yet; installing it into {cached}",
                  markup=False, highlight=False, soft_wrap=True)
    with StepProgress(console, [link_title] if reused else [build_title, link_title]) as steps:
        if not reused:
            install_into_cache(uv, lock, cached, steps, build_title, console)
        with steps.step(link_title):
            count = link_tree(cached, venv)
    console.print(f"{venv}: {count.linked} files linked from the cache, {count.kept} kept",
                  markup=False, highlight=False, soft_wrap=True)
    return cached


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.lock_env",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--uv", required=True, help="the uv executable")
    parser.add_argument("--lock", required=True, type=Path, help="a hashed lock (uv pip compile)")
    parser.add_argument("--venv", required=True, type=Path, help="the environment to fill")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"the shared cache (default: ${CACHE_DIR_ENV}, else "
                        "$XDG_CACHE_HOME/mlops-platform/envs)")
    args = parser.parse_args(argv)
    if not args.lock.is_file():
        parser.error(f"no lock file {args.lock}: run this where the lock is, or fix --lock")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    try:
        install(args.uv, args.lock, args.venv, args.cache_dir or default_cache_dir(), console)
    except (StepFailedError, OSError) as err:
        console.print(f"error: installing {args.lock} into {args.venv} failed: {err}",
                      markup=False, highlight=False, soft_wrap=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
