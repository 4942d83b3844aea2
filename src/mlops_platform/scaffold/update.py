"""`make update`: cruft update, with a verdict that tells a conflict from a success.

cruft applies the template's changes with `git apply -3` and calls the result a success
even when a file conflicted (it leaves conflict markers, or `.rej` files when the 3-way
merge is impossible). This runs cruft through its Python API and then asks git what is
left to resolve: exit 0 when the update applied cleanly or there was nothing to do, 1 when
files need resolving (each named, with how) or the update could not start.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mlops_platform.scaffold.repository import (
    LABELLED_DATA_DIR,
    RepositoryError,
    track_labelled_data,
)
from mlops_platform.scaffold.template_record import RECORD_FILE

REJECT_SUFFIX = ".rej"


def git_lines(project: Path, *args: str) -> list[str]:
    result = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True,
                            check=True)
    return [line for line in result.stdout.splitlines() if line]


def uncommitted_changes(project: Path) -> list[str]:
    """Tracked files with uncommitted changes (untracked files do not stop an update)."""
    return git_lines(project, "status", "--porcelain", "--untracked-files=no")


def unmerged_files(project: Path) -> list[str]:
    return git_lines(project, "diff", "--name-only", "--diff-filter=U")


def reject_files(project: Path) -> set[str]:
    """`.rej` files, ignored ones included: cruft's fallback writes them where it failed."""
    return set(git_lines(project, "ls-files", "--others", f"*{REJECT_SUFFIX}"))


def recorded_commit(project: Path) -> str:
    return str(json.loads((project / RECORD_FILE).read_text())["commit"])


def run_cruft(project: Path) -> tuple[bool, str]:
    """cruft update, non-interactive; its own words are kept, not printed: its "Good work!"
    also follows a conflict, so the verdict printed is ours."""
    import cruft
    from cruft.exceptions import CruftError

    words = io.StringIO()
    try:
        with contextlib.redirect_stdout(words):
            applied = cruft.update(project, skip_apply_ask=True, allow_untracked_files=True)
    except CruftError as error:
        template = json.loads((project / RECORD_FILE).read_text())["template"]
        return False, (f"{error.format_message()} ({RECORD_FILE} records the template as "
                       f"{template}: if that checkout moved, write its new path there)")
    return applied, words.getvalue()


def not_updatable(project: Path) -> str | None:
    if not (project / RECORD_FILE).is_file():
        return (f"{project.resolve()} has no {RECORD_FILE}, so it records no template version "
                "to update from: bake it from a git clone of the platform repository")
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=project,
                            capture_output=True, text=True)
    if inside.stdout.strip() != "true":
        return f"{project.resolve()} is not a git repository yet: run make venv first"
    return None


def conflict_report(unmerged: list[str], rejects: list[str]) -> str:
    lines = ["error: the template update conflicts with the project's own changes in:"]
    lines += [f"  {path}   (conflict markers <<<<<<< ======= >>>>>>>)" for path in unmerged]
    lines += [f"  {path.removesuffix(REJECT_SUFFIX)}   (the hunks git could not apply are in "
              f"{path})" for path in rejects]
    rejects_too = f" and delete {', '.join(rejects)}" if rejects else ""
    how = [*(["keep what both sides meant between the markers and delete them"] if unmerged
             else []),
           *(["apply the hunks of each .rej file by hand, then delete it"] if rejects else [])]
    lines += [
        f"Resolve them: {'; '.join(how)}. Then `git add` the files, run `make test check` and "
        "commit (.cruft.json already records the new template commit).",
        f"To abandon the update instead: `git reset --hard`{rejects_too} (the update started "
        "from a clean working tree, so this drops only what it brought).",
    ]
    return "\n".join(lines)


def update(project: Path) -> int:
    problem = not_updatable(project)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    changed = uncommitted_changes(project)
    if changed:
        print(f"error: {project.resolve()} has uncommitted changes ({len(changed)} files, e.g. "
              f"{changed[0][3:]}): the working tree must be clean; commit or stash them, then "
              "run make update again", file=sys.stderr)
        return 1
    before, rejects_before = recorded_commit(project), reject_files(project)
    applied, cruft_words = run_cruft(project)
    if not applied:
        print(f"error: cruft did not update the project:\n{cruft_words.strip()}", file=sys.stderr)
        return 1
    unmerged = unmerged_files(project)
    rejects = sorted(reject_files(project) - rejects_before)
    if unmerged or rejects:
        print(conflict_report(unmerged, rejects), file=sys.stderr)
        return 1
    after = recorded_commit(project)
    if after == before:
        print(f"Nothing to do: the project is at the newest template commit {after[:12]}.")
        return 0
    try:
        tracked = track_labelled_data(project)
    except RepositoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if tracked:
        print(f"Tracked the empty {LABELLED_DATA_DIR}/ with DVC ({LABELLED_DATA_DIR}.dvc): the "
              "prepare stage reads labelled served rows from it (make labelled-data).")
    print(f"Brought in the template's changes {before[:12]}..{after[:12]}, uncommitted.\n"
          "Review them (`git diff HEAD`), run `make test check`, and commit by pull request.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_platform.scaffold.update",
        description="Bring a newer template version into a baked project (cruft update); "
        "exit 1 when files conflict.")
    parser.add_argument("--project", type=Path, default=Path("."), help="the project folder")
    return update(parser.parse_args(argv).project)


if __name__ == "__main__":
    raise SystemExit(main())
