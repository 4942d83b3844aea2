"""A project as a new user gets it: baked by a cookiecutter that has nothing of ours beside it,
then built and run in its own environment by its own Makefile, outside this repository.

The project is named "Pipelines", so its package is `pipelines`: the name of a folder of this
repository that must not shadow, or be shadowed by, anything the platform installs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.template.baking import Standalone, plain_bake

pytestmark = pytest.mark.slow

PROJECT_NAME = "Pipelines"
PACKAGE = "pipelines"


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory,
               shared_platform_outputs_file: Path) -> Standalone:
    return plain_bake(tmp_path_factory.mktemp("standalone"), PROJECT_NAME,
                      f"platform_outputs={shared_platform_outputs_file}")


@pytest.fixture(scope="module")
def built(standalone: Standalone) -> Standalone:
    standalone.run("make", "venv")
    return standalone


def test_the_bake_needs_no_dvc_and_leaves_set_up_to_the_first_make(
        standalone: Standalone) -> None:
    assert not (standalone.project / ".dvc").exists()
    assert (standalone.project / "requirements.lock").is_file()


def test_make_venv_builds_the_project_environment_and_its_repository(built: Standalone) -> None:
    log = built.run("git", "log", "--format=%s").stdout.splitlines()
    assert log == ["Scaffold the project from the MLOps platform template"]
    assert (built.project / ".dvc" / "config").is_file()
    assert built.run("git", "status", "--porcelain").stdout == ""


@pytest.mark.parametrize("module", ["infra", "policies"])
def test_the_platform_installs_no_top_level_folders_of_its_repository(
        built: Standalone, module: str) -> None:
    result = built.run(".venv/bin/python", "-c", f"import {module}", check=False)
    assert result.returncode != 0
    assert f"No module named '{module}'" in result.stderr


def test_the_project_package_named_pipelines_is_the_project_own(built: Standalone) -> None:
    found = built.run(".venv/bin/python", "-c", "import pipelines; print(pipelines.__file__)")
    assert Path(found.stdout.strip()) == built.project / "src" / PACKAGE / "__init__.py"


def test_make_test_pipeline_and_check_pass_in_the_project_environment(built: Standalone) -> None:
    assert "passed" in built.run("make", "test").stdout
    built.run("make", "pipeline")
    assert (built.project / "reports" / "registration.json").is_file()
    check = built.run("make", "check")
    assert "level" in check.stdout.lower()


def test_a_failed_make_venv_leaves_no_environment(standalone: Standalone,
                                                  tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(standalone.project, broken, ignore=shutil.ignore_patterns(".venv*"))
    lock = broken / "requirements.lock"
    lock.write_text("no-such-package-anywhere==0.0.1 --hash=sha256:" + "0" * 64 + "\n")
    result = subprocess.run(["make", "venv"], cwd=broken, env=standalone.env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode != 0
    assert "make venv failed" in result.stderr
    assert not (broken / ".venv").exists()


@pytest.fixture(scope="module")
def second(built: Standalone,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[Standalone, str]:
    """A second project with the same locks, whose first command is `make lint`, not `make
    venv`; what that printed."""
    project = tmp_path_factory.mktemp("second") / PROJECT_NAME.lower()
    shutil.copytree(built.project, project,
                    ignore=shutil.ignore_patterns(".venv*", ".git", ".dvc", "reports"))
    second = Standalone(project, built.env)
    return second, second.run("make", "lint").stdout


def test_a_project_target_before_make_venv_builds_the_environment_first(
        second: tuple[Standalone, str]) -> None:
    project, output = second
    assert (project.project / ".venv" / ".installed").is_file()
    assert "All checks passed" in output


def test_the_second_install_of_the_same_lock_links_the_first_one(
        built: Standalone, second: tuple[Standalone, str]) -> None:
    project, output = second
    assert "requirements.lock: reusing the environment installed before in" in output
    site = Path(".venv/lib") / f"python{sys.version_info.major}.{sys.version_info.minor}"
    pyc = f"__init__.cpython-{sys.version_info.major}{sys.version_info.minor}.pyc"
    for installed in ("sklearn/__init__.py", f"sklearn/__pycache__/{pyc}"):
        first, again = (root / site / "site-packages" / installed
                        for root in (built.project, project.project))
        assert first.stat().st_ino == again.stat().st_ino, installed
