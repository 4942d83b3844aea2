"""`make update`: a project baked from one template commit takes in a later one, uncommitted."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from mlops_platform.scaffold.repository import initialise_project, track_labelled_data
from mlops_platform.scaffold.template_record import RECORD_FILE
from mlops_platform.scaffold.update import conflict_report, update
from tests.template.baking import DEFAULT_PACKAGE, REPO_ROOT, make

pytestmark = pytest.mark.slow

IDENTITY = ("-c", "user.name=Template Test", "-c", "user.email=template-test@localhost")
TEMPLATE_CHANGE = "A line the template added after the project was baked."
PROJECT_CHANGE = "# A line the project's team wrote after the bake.\n"


PROJECT_README_CHANGE = "A line the project's team added where the template added one."


@dataclass(frozen=True)
class Updatable:
    platform: Path
    project: Path
    conflicting: Path  # its README.md changed where the newer template's did
    baked_commit: str
    new_commit: str


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=directory, capture_output=True,
                          text=True, check=True).stdout.strip()


def platform_clone(target: Path) -> Path:
    """A git copy of this checkout, uncommitted work included, as one commit."""
    git(REPO_ROOT, "clone", "--quiet", str(REPO_ROOT), str(target))
    listing = git(REPO_ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for relative in filter(None, listing.split("\0")):
        source, copy = REPO_ROOT / relative, target / relative
        if source.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
        elif copy.is_file():
            copy.unlink()
    git(target, "add", "--all")
    git(target, "commit", "--quiet", "--allow-empty", "-m", "The working tree under test")
    return target


@pytest.fixture(scope="module")
def updatable(tmp_path_factory: pytest.TempPathFactory) -> Updatable:
    root = tmp_path_factory.mktemp("update")
    platform = platform_clone(root / "platform")
    project = baked(platform, root / "out", "src/{package}/features.py", PROJECT_CHANGE)
    conflicting = baked(platform, root / "conflicting", "README.md",
                        f"\n{PROJECT_README_CHANGE}\n")
    readme = platform / "template" / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + f"\n{TEMPLATE_CHANGE}\n")
    git(platform, "commit", "--quiet", "--all", "-m", "A newer template version")
    return Updatable(platform, project, conflicting, git(platform, "rev-parse", "HEAD~1"),
                     git(platform, "rev-parse", "HEAD"))


def baked(platform: Path, output_dir: Path, changed: str, appended: str) -> Path:
    """A project baked from ``platform`` whose team appended to one file and committed it."""
    project = Path(cookiecutter(str(platform), no_input=True, output_dir=str(output_dir)))
    initialise_project(project)
    path = project / changed.format(package=DEFAULT_PACKAGE)
    path.write_text(path.read_text() + appended)
    git(project, "commit", "--quiet", "--all", "-m", "The project's own change")
    return project


def recorded_commit(project: Path) -> str:
    return json.loads((project / RECORD_FILE).read_text())["commit"]


def test_the_bake_records_the_template_commit_and_answers(updatable: Updatable) -> None:
    record = json.loads(git(updatable.project, "show", f"HEAD:{RECORD_FILE}"))
    assert record["template"] == str(updatable.platform.resolve())
    assert record["commit"] == updatable.baked_commit
    assert record["directory"] == "template"
    assert record["context"]["cookiecutter"]["package_name"] == DEFAULT_PACKAGE
    assert not [key for key in record["context"]["cookiecutter"] if key.startswith("_")]


def test_update_refuses_a_dirty_working_tree(updatable: Updatable) -> None:
    readme = updatable.project / "README.md"
    original = readme.read_text()
    readme.write_text(original + "Uncommitted work.\n")
    try:
        result = make(updatable.project, "update", check=False)
    finally:
        readme.write_text(original)
    assert result.returncode != 0
    assert "clean" in result.stdout + result.stderr
    assert recorded_commit(updatable.project) == updatable.baked_commit


def test_update_brings_the_new_template_in_uncommitted(updatable: Updatable) -> None:
    head_before = git(updatable.project, "rev-parse", "HEAD")
    result = make(updatable.project, "update")
    assert "Next:" not in result.stdout  # the hook's advice, given from cruft's temporary copy
    assert "git diff HEAD" in result.stdout
    project = updatable.project
    assert TEMPLATE_CHANGE in (project / "README.md").read_text()
    assert PROJECT_CHANGE in (project / "src" / DEFAULT_PACKAGE / "features.py").read_text()
    assert recorded_commit(project) == updatable.new_commit
    assert git(project, "rev-parse", "HEAD") == head_before
    assert set(git(project, "diff", "HEAD", "--name-only").splitlines()) == {
        "README.md", RECORD_FILE}


def test_update_fails_on_a_conflict_naming_the_file_and_how_to_resolve_it(
    updatable: Updatable,
) -> None:
    project = updatable.conflicting
    result = make(project, "update", check=False)
    assert result.returncode != 0
    assert "conflicts with the project's own changes in:\n  README.md" in result.stderr
    assert "`git add`" in result.stderr
    assert "git reset --hard" in result.stderr
    assert "Good work" not in result.stdout + result.stderr
    assert "Next:" not in result.stdout + result.stderr
    readme = (project / "README.md").read_text()
    assert "<<<<<<<" in readme
    assert PROJECT_README_CHANGE in readme
    assert TEMPLATE_CHANGE in readme


def test_a_rejected_hunk_is_named_with_its_rej_file_and_how_to_drop_it() -> None:
    report = conflict_report([], ["Makefile.rej"])
    assert "  Makefile   (the hunks git could not apply are in Makefile.rej)" in report
    assert "apply the hunks of each .rej file by hand" in report
    assert "markers" not in report
    assert "`git reset --hard` and delete Makefile.rej" in report


def test_a_project_without_a_record_or_whose_template_moved_gets_one_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    git(tmp_path, "init", "--quiet")
    assert update(tmp_path) == 1
    assert f"has no {RECORD_FILE}" in capsys.readouterr().err
    moved = tmp_path / "moved-platform"
    (tmp_path / RECORD_FILE).write_text(json.dumps(
        {"template": str(moved), "commit": "0" * 40, "directory": "template",
         "context": {"cookiecutter": {}}}))
    git(tmp_path, "add", RECORD_FILE)
    git(tmp_path, "commit", "--quiet", "-m", "A project whose template checkout moved")
    assert update(tmp_path) == 1
    err = capsys.readouterr().err
    assert f"records the template as {moved}: if that checkout moved" in err
    assert "Traceback" not in err


def test_a_project_baked_before_labelled_data_gets_the_folder_tracked_once(
        updatable: Updatable, tmp_path: Path) -> None:
    """The prepare stage depends on data/labelled/ since the template tracks it; an older
    project gets it, empty and DVC-tracked, when it updates (DVC refuses a missing dependency)."""
    project = baked(updatable.platform, tmp_path, "README.md", "\n")
    git(project, "rm", "--quiet", "data/labelled.dvc")
    git(project, "commit", "--quiet", "-m", "As baked before data/labelled was tracked")
    (project / "data" / "labelled").rmdir()

    assert track_labelled_data(project)
    assert not track_labelled_data(project)  # once

    assert (project / "data" / "labelled").is_dir()
    assert "d751713988987e9331980363e24189ce.dir" in (project / "data/labelled.dvc").read_text()
    assert git(project, "status", "--porcelain", "--untracked-files=all") == "?? data/labelled.dvc"
