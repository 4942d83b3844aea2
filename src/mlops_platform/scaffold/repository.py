"""The new project's git repository and DVC set-up, with its first commit.

The bake runs inside a plain cookiecutter, which has no DVC: this runs in the project's
own environment at its first `make` (`python -m mlops_platform.scaffold.repository`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from mlops_platform.contract import AUDIT_LOG_FILE, PlatformOutputsError, read_outputs
from mlops_platform.scaffold.platform_outputs import OUTPUTS_FILE, dvc_remote_url

RAW_DATA_DIR = Path("data/raw")
# Labelled served rows (make labelled-data): tracked by DVC from the start, empty, because the
# prepare stage depends on the folder and DVC refuses to run a stage whose dependency is missing.
LABELLED_DATA_DIR = Path("data/labelled")
FIRST_COMMIT_MESSAGE = "Scaffold the project from the MLOps platform template"


class RepositoryError(RuntimeError):
    """git or DVC refused; the message carries the tool's own words."""


def add_raw_data(project_dir: Path, csv_path: Path) -> Path:
    target = RAW_DATA_DIR / csv_path.name
    (project_dir / RAW_DATA_DIR).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(csv_path, project_dir / target)
    return target


def initialise_project(project_dir: Path) -> bool:
    """git, DVC and the first commit, once; False when the project has them already."""
    if (project_dir / ".dvc" / "config").is_file():
        return False
    outputs = read_outputs(project_dir / OUTPUTS_FILE)
    raw_data = sorted(path.relative_to(project_dir)
                      for path in (project_dir / RAW_DATA_DIR).glob("*.csv"))
    init_repository(project_dir, dvc_remote_url(outputs), raw_data[0] if raw_data else None,
                    _author(project_dir))
    return True


def _author(project_dir: Path) -> str:
    project = tomllib.loads((project_dir / "pyproject.toml").read_text())["project"]
    return project.get("authors", [{}])[0].get("name", "ML project")


def init_repository(project_dir: Path, dvc_remote: str, tracked_data: Path | None,
                    author: str) -> None:
    if not (project_dir / ".git").exists():
        _git(project_dir, "init", "--quiet", "--initial-branch=main")
    _init_dvc(project_dir, dvc_remote, tracked_data)
    start_audit_log(project_dir)
    _git(project_dir, "add", "--all")
    _git(project_dir, *_identity(project_dir, author), "commit", "--quiet", "--no-verify",
         "-m", FIRST_COMMIT_MESSAGE)


def _init_dvc(project_dir: Path, dvc_remote: str, tracked_data: Path | None) -> None:
    # In process: three `dvc` commands would cost about 3 s of start-up.
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        # DVC's own "next steps" advice would drown the hook's messages.
        logging.getLogger("dvc").setLevel(logging.WARNING)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            repo = Repo.init(str(project_dir))
            with repo.config.edit() as config:
                config["core"]["analytics"] = "false"  # as `dvc config` writes it
                config["core"]["remote"] = "platform"
                config["remote"]["platform"] = {"url": dvc_remote}
            (project_dir / LABELLED_DATA_DIR).mkdir(parents=True, exist_ok=True)
            tracked = [LABELLED_DATA_DIR, *([tracked_data] if tracked_data else [])]
            repo.add([str(project_dir / path) for path in tracked])
            repo.close()
    except DvcException as err:
        raise RepositoryError(f"DVC set-up failed in {project_dir}: {err}") from err


def track_labelled_data(project_dir: Path) -> bool:
    """Track data/labelled/ with DVC, empty, where a project baked before its prepare stage
    depended on it lacks it (`make update` brings that dvc.yaml); whether it did."""
    if (project_dir / f"{LABELLED_DATA_DIR}.dvc").is_file():
        return False
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    (project_dir / LABELLED_DATA_DIR).mkdir(parents=True, exist_ok=True)
    try:
        with (contextlib.redirect_stdout(io.StringIO()),
              contextlib.redirect_stderr(io.StringIO()), Repo(str(project_dir)) as repo):
            repo.add(str(project_dir / LABELLED_DATA_DIR))
    except DvcException as err:
        raise RepositoryError(f"DVC could not track {LABELLED_DATA_DIR} in {project_dir}: "
                              f"{err}") from err
    return True


def start_audit_log(project_dir: Path) -> None:
    """The governance audit log, empty and committed: the promote stage depends on it (the
    approvals it reads), and DVC refuses to run a stage whose dependency is missing."""
    log = project_dir / AUDIT_LOG_FILE
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()


def _identity(project_dir: Path, author: str) -> list[str]:
    """Use the user's git identity; only without one, commit as the project's author."""
    configured = subprocess.run(["git", "config", "user.email"], cwd=project_dir,
                                capture_output=True, text=True).stdout.strip()
    if configured:
        return []
    return ["-c", f"user.name={author}", "-c", "user.email=mlops-scaffold@localhost"]


def _git(project_dir: Path, *args: str) -> None:
    result = subprocess.run(["git", *args], cwd=project_dir, capture_output=True, text=True)
    if result.returncode != 0:
        raise RepositoryError(f"git {args[-1] if args else ''} failed in {project_dir}: "
                              f"{result.stderr.strip()}")


def main() -> int:
    project_dir = Path.cwd()
    try:
        created = initialise_project(project_dir)
    except (RepositoryError, PlatformOutputsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if created:
        print(f"Initialised git and DVC in {project_dir} and made the first commit "
              f"({FIRST_COMMIT_MESSAGE!r}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
