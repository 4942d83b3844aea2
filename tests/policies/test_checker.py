"""The governance checker on projects baked from the template with real cookiecutter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_platform import contract as ml_contract
from mlops_platform.governance.checker import Scorecard, check_project
from mlops_platform.governance.cli import main as cli
from mlops_platform.governance.controls import CATALOGUE
from mlops_platform.governance.promotion_gate import promote_project
from mlops_platform.governance.tracking import CLIENT_ENVIRONMENT
from mlops_platform.params import ParamsError
from tests.policies.model_versions import fresh_model_name, register_version, write_project
from tests.policies.project_trees import add_agreed_ci, bake

CASES = [(0, "github"), (1, "gitlab"), (2, "github"), (2, "gitlab")]
# What each level's project lacks for the next level, with the CI of the agreed shape.
MISSING_FOR_NEXT = {
    0: {"L1-promotion-stage", "L1-continuous-training"},
    1: {"L2-staged-delivery", "L2-prod-approval", "L2-gitops-serving", "L2-drift-retraining",
        "L2-rollback"},
}


@pytest.fixture(autouse=True)
def client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the CLI sets, restored after each test."""
    for name, value in CLIENT_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
# The ML Test Score of a freshly generated project, per level.
ML_TEST_SCORE = {0: 1.0, 1: 2.5, 2: 3.5}


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, str], Path]:
    projects = {}
    for level, provider in CASES:
        project = bake(tmp_path_factory.mktemp(f"level{level}-{provider}"), level, provider)
        add_agreed_ci(project, level, provider)
        projects[(level, provider)] = project
    return projects


def scorecard(baked: dict, level: int, provider: str, required: int | None = None) -> Scorecard:
    return check_project(baked[(level, provider)], level=required, use_tracking=False)


def failing(card: Scorecard) -> set[str]:
    return {result.control.id for result in card.results if not result.passed}


@pytest.mark.parametrize(("level", "provider"), CASES, ids=[f"level{lv}-{p}" for lv, p in CASES])
def test_a_generated_project_meets_the_level_it_declares(baked, level, provider) -> None:
    card = scorecard(baked, level, provider)

    assert card.declared_level == level
    assert card.ok, [(r.control.id, r.reasons) for r in card.missing_for(level)]
    assert card.level_reached == level


@pytest.mark.parametrize(("level", "provider"), [(0, "github"), (1, "gitlab")],
                         ids=["level0-github", "level1-gitlab"])
def test_a_generated_project_fails_the_next_level_naming_what_is_missing(baked, level,
                                                                         provider) -> None:
    card = scorecard(baked, level, provider, required=level + 1)

    assert not card.ok
    assert {r.control.id for r in card.missing_for(level + 1)} == MISSING_FOR_NEXT[level]
    assert card.as_dict()["missing_for_next_level"] == [
        control.id for control in CATALOGUE if control.id in MISSING_FOR_NEXT[level]]


def test_the_ml_test_score_rises_with_the_level(baked) -> None:
    finals = [scorecard(baked, level, provider).ml_test_score["final"]
              for level, provider in [(0, "github"), (1, "gitlab"), (2, "github")]]

    assert finals[0] < finals[1] < finals[2], finals
    assert finals[2] >= 3, finals
    assert finals == [ML_TEST_SCORE[level] for level in (0, 1, 2)]


def test_the_json_explains_each_section_and_what_would_raise_it(baked) -> None:
    score = scorecard(baked, 2, "gitlab").as_dict()["ml_test_score"]

    assert score["final"] == min(section["points"] for section in score["sections"].values())
    for name, section in score["sections"].items():
        tests = [test for test in score["tests"] if test["section"] == name]
        assert len(tests) == 7
        assert section["points"] == sum(test["points"] for test in tests)
        assert section["explanation"] == (f"{len(section['automated'])} automated x 1 + "
                                          f"{len(section['manual'])} manual x 0.5 = "
                                          f"{section['points']:g} of 7")
        assert set(section["automated"]) == {t["id"] for t in tests if t["points"] == 1}
        assert set(section["manual"]) == {t["id"] for t in tests if t["points"] == 0.5}
    assert all(test["reason"] for test in score["tests"])
    assert all(test["to_raise"] for test in score["tests"] if test["points"] < 1)


def test_the_cli_prints_json_and_exits_non_zero_below_the_required_level(baked) -> None:
    project = baked[(0, "github")]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mlops-policy"), "check", str(project), "--level",
         "1", "--json", "--offline"], capture_output=True, text=True, timeout=60)

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["declared_level"], report["required_level"], report["level_reached"]) == (
        0, 1, 0)
    assert set(report["missing_for_required_level"]) == MISSING_FOR_NEXT[0]
    assert len(report["controls"]) == len(CATALOGUE)


def test_the_table_names_every_control_and_what_the_next_level_needs(baked, capsys) -> None:
    assert cli(["check", str(baked[(1, "gitlab")]), "--offline"]) == 0

    printed = capsys.readouterr().out
    assert all(control.id in printed for control in CATALOGUE)
    assert "meets level 1" in printed
    assert "for level 2: " in printed
    assert "ML Test Score" in printed


def test_a_project_without_ci_fails_level_zero(baked, tmp_path) -> None:
    project = shutil.copytree(baked[(0, "github")], tmp_path / "project")
    shutil.rmtree(project / ".github")

    card = check_project(project, use_tracking=False)

    assert not card.ok
    assert failing(card) >= {"L0-ci-tests"}
    assert "no CI file" in card.missing_for(0)[0].reasons[0]


def test_a_broken_params_file_stops_the_check_in_one_line(baked, tmp_path, capsys) -> None:
    project = shutil.copytree(baked[(0, "github")], tmp_path / "project")
    (project / "params.yaml").write_text("project: [unclosed\n")

    assert cli(["check", str(project), "--offline"]) == 2

    assert capsys.readouterr().err == (
        f"mlops-policy check: {project / 'params.yaml'} is not valid YAML: expected ',' or ']', "
        "but got '<stream end>' at line 2, column 1\n")


def test_the_check_validates_params_with_the_projects_own_schema(baked, tmp_path) -> None:
    project = shutil.copytree(baked[(0, "github")], tmp_path / "project")
    params = (project / "params.yaml").read_text()
    (project / "params.yaml").write_text(params.replace("test_size: 0.2", "test_size: 1.5"))

    with pytest.raises(ParamsError) as raised:
        check_project(project, use_tracking=False)

    assert str(raised.value) == (f"{project / 'params.yaml'}: data.test_size = 1.5 is not valid: "
                                 "a number above 0 and below 1")


def test_a_path_that_is_no_project_is_a_clear_error(tmp_path, capsys) -> None:
    assert cli(["check", str(tmp_path)]) == 2
    assert f"{tmp_path} has no params.yaml" in capsys.readouterr().err


def project_on_platform(baked, shared_platform, tmp_path: Path, model_name: str) -> Path:
    """A copy of the level-0 project whose model lives on the shared platform."""
    project = shutil.copytree(baked[(0, "github")], tmp_path / "project")
    write_project(tmp_path / "gate-files", shared_platform, model_name)
    shutil.copy(tmp_path / "gate-files" / "platform_outputs.json", project)
    # The test split the gate scores the helper models on.
    shutil.copytree(tmp_path / "gate-files" / "data", project / "data", dirs_exist_ok=True)
    params = (project / "params.yaml").read_text().replace(
        "name: breast_cancer_classifier", f"name: {model_name}")
    (project / "params.yaml").write_text(params)
    return project


def reasons_of(card: Scorecard, control_id: str) -> tuple[str, ...]:
    return next(r.reasons for r in card.results if r.control.id == control_id)


def test_registered_versions_without_lineage_fail_the_lineage_control(
        baked, shared_platform, tmp_path) -> None:
    model_name = fresh_model_name()
    project = project_on_platform(baked, shared_platform, tmp_path, model_name)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    traced = check_project(project)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95, tags={})

    untraced = check_project(project)

    assert "L0-lineage" not in failing(traced)
    assert "carry lineage tags" in reasons_of(traced, "L0-lineage")[1]
    assert "L0-lineage" in failing(untraced)
    assert "1 of 2 registered versions" in reasons_of(untraced, "L0-lineage")[1]


def test_a_champion_set_around_the_gate_fails_the_gate_control(
        baked, shared_platform, tmp_path) -> None:
    model_name = fresh_model_name()
    project = project_on_platform(baked, shared_platform, tmp_path, model_name)
    gated = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    assert promote_project(project, actor="release-bot").outcome == "promoted"
    assert "L0-promotion-gate" not in failing(check_project(project))
    by_hand = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.96)
    MlflowClient(shared_platform.tracking_uri).set_registered_model_alias(
        model_name, ml_contract.ALIAS_CHAMPION, by_hand)

    card = check_project(project)

    assert gated != by_hand
    assert "L0-promotion-gate" in failing(card)
    assert reasons_of(card, "L0-promotion-gate")[1].startswith(
        f"champion version {by_hand} at {shared_platform.tracking_uri} has no promotion by "
        "the gate")


@pytest.mark.parametrize(("level", "provider"), [(0, "gitlab"), (1, "github"), (2, "gitlab")],
                         ids=["level0-gitlab", "level1-github", "level2-gitlab"])
def test_the_templates_own_ci_meets_the_declared_level(tmp_path, level, provider) -> None:
    card = check_project(bake(tmp_path, level, provider), use_tracking=False)

    assert card.ok, [(r.control.id, r.reasons) for r in card.missing_for(level)]
    assert card.ml_test_score["final"] == ML_TEST_SCORE[level]
    if level in MISSING_FOR_NEXT:
        assert {r.control.id for r in card.missing_for(level + 1)} == MISSING_FOR_NEXT[level]
