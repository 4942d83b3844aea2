"""feature_store=feast bakes a project with a Feast feature repository wired into its pipeline,
its training, its model card and its serving; none bakes none of it (test_bake's files)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from mlops_platform import api
from tests.template.baking import (
    DEFAULT_PACKAGE,
    REPO_ROOT,
    VENV,
    bake,
    expected_files,
    leftover_template_syntax,
    tracked_files,
)
from tests.template.test_bake import platform_imports

FEAST_FILES = {"feature_repo/feature_store.yaml", "feature_repo/definitions.py",
               f"src/{DEFAULT_PACKAGE}/feature_store.py", "tests/test_feature_store.py"}


@pytest.fixture(scope="module", params=["1", "2"], ids=["level1", "level2"])
def feast_project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  ) -> tuple[Path, str]:
    project = bake(tmp_path_factory.mktemp("feast"), maturity_level=request.param,
                   feature_store="feast")
    return project, request.param


def test_it_holds_the_feature_repository_besides_every_usual_file(feast_project) -> None:
    project, level = feast_project
    assert tracked_files(project) == expected_files(level, "github") | FEAST_FILES
    assert leftover_template_syntax(project) == {}


def test_it_installs_feast_from_the_platform_lock(feast_project) -> None:
    project, _ = feast_project
    assert (project / "requirements.lock").read_text() == (
        REPO_ROOT / "requirements/project-feast.txt").read_text()


def test_the_store_is_built_after_validation_and_training_reads_it(feast_project) -> None:
    project, _ = feast_project
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert "reports/validation.json" in stages["feature_store"]["deps"]
    assert {"data/features": {"cache": False}} in stages["feature_store"]["outs"]
    assert "data/features" in stages["train"]["deps"]
    assert any("feature_skew.json" in str(out) for out in stages["evaluate"]["outs"])
    train = (project / "src" / DEFAULT_PACKAGE / "train.py").read_text()
    assert "train_frame = training_frame()" in train and "load_prepared" not in train


def test_it_is_lint_free_and_imports_only_the_public_api(feast_project) -> None:
    project, _ = feast_project
    result = subprocess.run([str(VENV / "bin" / "ruff"), "check", "."], cwd=project,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    imports = platform_imports(project)
    assert set(imports) == {"mlops_platform.api"}
    assert {"feature_store"} <= imports["mlops_platform.api"] <= set(api.__all__)
