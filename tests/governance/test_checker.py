"""The governance checker on projects baked from the template with real cookiecutter.

Credit comes from evidence the checker produces: it runs the project's tests and a broken
copy of the guarded code, runs steps on good and corrupted data, dry-runs make targets,
reads CI with its semantics and asks the registry. A level-2 project after its pipeline
keeps its level; the same project hollowed (tests that assert nothing, steps that do
nothing, make targets that echo, CI jobs that never run or cannot fail) is below level 0.
"""

from __future__ import annotations

import json
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_platform import contract as ml_contract
from mlops_platform.client.project import Project
from mlops_platform.client.tracking import CLIENT_ENVIRONMENT
from mlops_platform.governance.checker import (
    BELOW_ZERO,
    ControlResult,
    Scorecard,
    check_project,
    evaluate_control,
)
from mlops_platform.governance.checks import (
    FAILED,
    NOT_VERIFIED,
    PASSED,
    Inspection,
    door_outcome,
    run_check,
)
from mlops_platform.governance.cli import main as cli
from mlops_platform.governance.controls import CATALOGUE, CONTROLS_BY_ID
from mlops_platform.governance.ml_test_score import score_results
from mlops_platform.governance.probes import read_rows, write_rows
from mlops_platform.governance.promotion_gate import promote_project
from mlops_platform.governance.scorecard_report import as_json, print_scorecard
from mlops_platform.params import ParamsError
from tests.governance.model_versions import fresh_model_name, register_version, write_project
from tests.governance.project_trees import bake, hollow, hollow_makefile, hollow_steps, hollow_tests
from tests.template.baking import make

PACKAGE = "breast_cancer_classifier"
# What a careful reading of the rubric credits a level-2 project with (data and monitoring: 3,
# the weakest; model 3.5, infrastructure 6).
HONEST_ML_TEST_SCORE = 3.0
# Items a level-2 project earns from what it really does, and a piece of the evidence each names.
EARNED_FROM = {
    "model-3": "was trained with it",  # the registered run used the tune stage's best
    "model-5": "beats the trivial baseline's",  # the run's metrics on the tracking server
    "model-6": "logged the accuracy per data slice",
    "monitoring-2": "refused nulls in column",  # the serving door fed corrupted data
    "monitoring-4": "with monitor.staleness_problem broken, the tests fail",
    "monitoring-5": "with train.numerical_problems broken, the tests fail",
    "infrastructure-5": "explained one test row step by step",  # the registered version
}
# Evidence that only reads files: it can be checked without running the project.
STATIC_KINDS = {"files", "params_keys", "dvc_stages", "stage_output", "make_target",
                "module_code", "ci_runs", "ci_approval", "deploy_manifests", "platform_outputs"}


@pytest.fixture(scope="module")
def module_client_environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CLIENT_ENVIRONMENT.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory, shared_platform_outputs_file: Path,
           module_client_environment: None) -> Path:
    """A level-2 project after `make pipeline` on the shared platform, its challenger
    approved and promoted through the gate."""
    project = bake(tmp_path_factory.mktemp("honest"), 2, "github",
                   model_name=f"checker-{uuid.uuid4().hex[:8]}",
                   platform_outputs=str(shared_platform_outputs_file))
    make(project, "pipeline")
    make(project, "approve", "APPROVER=release-manager")
    make(project, "promote")
    return project


@pytest.fixture(scope="module")
def honest_card(honest: Path) -> Scorecard:
    return check_project(honest)


@pytest.fixture(scope="module")
def hollowed_card(honest: Path, tmp_path_factory: pytest.TempPathFactory) -> Scorecard:
    project = shutil.copytree(honest, tmp_path_factory.mktemp("hollowed") / honest.name,
                              symlinks=True)
    hollow(project, PACKAGE)
    return check_project(project)


def copy_of(project: Path, tmp_path: Path) -> Path:
    return shutil.copytree(project, tmp_path / project.name, symlinks=True)


def evaluate(project: Path, control_id: str, use_tracking: bool = True) -> ControlResult:
    with Inspection(Project.open(project), use_tracking=use_tracking) as inspection:
        return evaluate_control(inspection, CONTROLS_BY_ID[control_id])


def failing(card: Scorecard) -> set[str]:
    return {result.control.id for result in card.results if not result.passed}


@pytest.mark.slow
def test_the_honest_level2_project_keeps_its_level(honest_card: Scorecard) -> None:
    assert honest_card.level_reached == 2, [(r.control.id, r.reasons)
                                            for r in honest_card.missing_for(2)]
    assert honest_card.ok
    assert all(result.status == PASSED and result.evidence for result in honest_card.results
               if not result.control.optional)
    # Baked without a feature store: the optional skew control fails, and costs no level.
    [skew] = [result for result in honest_card.results if result.control.optional]
    assert skew.control.id == "L1-feature-skew" and not skew.passed


@pytest.mark.slow
def test_the_honest_project_scores_what_a_careful_reading_gives(honest_card: Scorecard) -> None:
    score = honest_card.ml_test_score

    assert score["final"] == HONEST_ML_TEST_SCORE >= 3
    assert score["weakest"] == ["data", "monitoring"]
    credited = [test for test in score["tests"] if test["points"]]
    assert credited and all(test["evidence"] for test in credited)
    tests = {test["id"]: test for test in score["tests"]}
    assert any("ran the project's tests" in line for line in tests["data-7"]["evidence"])
    assert any("refused nulls" in line for line in tests["data-1"]["evidence"])
    for item, evidence in EARNED_FROM.items():
        assert tests[item]["points"] == 1.0, tests[item]
        assert any(evidence in line for line in tests[item]["evidence"]), tests[item]["evidence"]


@pytest.mark.slow
def test_a_hollowed_project_is_below_level_zero_with_an_ml_test_score_of_zero(
        hollowed_card: Scorecard) -> None:
    report = hollowed_card.as_dict()

    assert hollowed_card.level_reached == BELOW_ZERO
    assert (report["level_reached"], report["level_name"]) == (-1, "below 0")
    assert report["ml_test_score"]["final"] == 0
    assert all(test["points"] == 0 for test in report["ml_test_score"]["tests"])
    assert failing(hollowed_card) >= {"L0-tracking", "L0-data-versioned", "L0-tests",
                                      "L0-ci-tests", "L0-promotion-gate", "L1-pipeline",
                                      "L1-data-validation", "L2-rollback"}


@pytest.mark.slow
def test_the_report_names_the_evidence_of_each_credit(honest_card: Scorecard,
                                                      capsys: pytest.CaptureFixture) -> None:
    report = json.loads(as_json(honest_card))
    print_scorecard(honest_card)
    printed = capsys.readouterr().out

    tests_control = next(c for c in report["controls"] if c["id"] == "L0-tests")
    assert tests_control["status"] == "passed"
    assert any("with contract.check_frame broken, the tests fail" in line
               for line in tests_control["evidence"])
    assert all(test["evidence"] for test in report["ml_test_score"]["tests"] if test["points"])
    assert "ML Test Score credits and their evidence:" in printed
    assert "ran the project's tests" in printed


@pytest.mark.slow
def test_tests_that_assert_nothing_earn_nothing(honest: Path, tmp_path: Path) -> None:
    project = copy_of(honest, tmp_path)
    hollow_tests(project)  # they still import check_frame, build_model, feature_columns

    result = evaluate(project, "L0-tests")

    assert result.status == FAILED
    assert "still pass with features.feature_columns broken" in result.reasons[0]
    assert "they assert nothing about it" in result.reasons[0]


PINNING_TEST = """\
import hashlib
from pathlib import Path

PINNED = {pinned!r}


def test_the_sources_are_the_reviewed_ones() -> None:
    found = {{str(path): hashlib.sha256(path.read_bytes()).hexdigest()
             for path in sorted(Path("src").rglob("*.py"))}}
    assert found == PINNED
"""


def pin_the_sources(project: Path) -> None:
    """A test that fails whenever a source file changes: it 'kills' any mutant written to
    disk, and asserts nothing of what the code does."""
    import hashlib

    pinned = {str(path.relative_to(project)): hashlib.sha256(path.read_bytes()).hexdigest()
              for path in sorted((project / "src").rglob("*.py"))}
    (project / "tests" / "test_pinned.py").write_text(PINNING_TEST.format(pinned=pinned))


def describe_only(project: Path) -> None:
    """Make targets that only list or dry-run what they name."""
    makefile = project / "Makefile"
    makefile.write_text(makefile.read_text()
                        .replace("$(PYTHON) -m pytest\n", "$(PYTHON) -m pytest --collect-only\n")
                        .replace("$(PYTHON) -m dvc repro\n", "$(PYTHON) -m dvc repro --dry\n"))


def switch_off_ci(project: Path) -> None:
    """The test job off by a condition no run meets, its steps dry runs or swallowed."""
    path = project / ".github" / "workflows" / "ci.yml"
    text = path.read_text()
    text = text.replace("make lint test check", "make -n lint test check")
    text = text.replace("  checks:\n", "  checks:\n    if: github.event_name == 'nightly'\n", 1)
    path.write_text(text.replace("run: make pipeline\n", "run: make pipeline || echo skipped\n"))


@pytest.mark.slow
def test_a_test_that_pins_the_sources_kills_no_mutant(honest: Path, tmp_path: Path) -> None:
    project = copy_of(honest, tmp_path)
    hollow_tests(project)
    pin_the_sources(project)

    result = evaluate(project, "L0-tests")

    assert result.status == FAILED
    assert "still pass with features.feature_columns broken" in result.reasons[0]


@pytest.mark.slow
def test_make_targets_that_only_describe_run_nothing(honest: Path, tmp_path: Path) -> None:
    project = copy_of(honest, tmp_path)
    describe_only(project)

    ci_tests, pipeline = evaluate(project, "L0-ci-tests"), evaluate(project, "L1-pipeline")

    assert ci_tests.status == FAILED and "runs no `pytest`" in " ".join(ci_tests.reasons)
    assert pipeline.status == FAILED and "runs no `dvc repro`" in " ".join(pipeline.reasons)


@pytest.mark.slow
def test_ci_switched_off_by_intent_runs_nothing(honest: Path, tmp_path: Path) -> None:
    project = copy_of(honest, tmp_path)
    switch_off_ci(project)

    assert evaluate(project, "L0-ci-tests", use_tracking=False).status == FAILED
    assert evaluate(project, "L1-continuous-training", use_tracking=False).status == FAILED


@pytest.fixture(scope="module")
def intently_hollowed_card(honest: Path, tmp_path_factory: pytest.TempPathFactory) -> Scorecard:
    project = shutil.copytree(honest, tmp_path_factory.mktemp("intent") / honest.name,
                              symlinks=True)
    hollow_tests(project)
    pin_the_sources(project)
    describe_only(project)
    switch_off_ci(project)
    return check_project(project)


@pytest.mark.slow
def test_hollowing_that_survives_literal_checks_falls_below_level_one(
        intently_hollowed_card: Scorecard) -> None:
    assert intently_hollowed_card.level_reached < 1
    assert intently_hollowed_card.ml_test_score["final"] < 1
    assert {"L0-tests", "L0-ci-tests", "L1-pipeline"} <= failing(intently_hollowed_card)


@pytest.mark.slow
def test_without_any_test_the_tested_items_of_the_ml_test_score_are_zero(
        honest: Path, honest_card: Scorecard, tmp_path: Path) -> None:
    project = copy_of(honest, tmp_path)
    for path in (project / "tests").glob("test_*.py"):
        path.unlink()

    rerun = evaluate(project, "L0-tests")
    results = [rerun if r.control.id == "L0-tests" else r for r in honest_card.results]
    tests = {test["id"]: test for test in score_results(results)["tests"]}

    assert rerun.status == FAILED
    assert "no test under tests/" in rerun.reasons[0]
    assert (tests["data-7"]["points"], tests["infrastructure-2"]["points"]) == (0, 0)


@pytest.mark.slow
def test_steps_that_are_comments_earn_nothing(honest: Path, tmp_path: Path) -> None:
    project = copy_of(honest, tmp_path)
    hollow_steps(project, PACKAGE)  # the names are all still there, in comments

    tracking = evaluate(project, "L0-tracking")
    data = evaluate(project, "L0-data-versioned")
    validation = evaluate(project, "L1-data-validation")
    pipeline = evaluate(project, "L1-pipeline")

    assert tracking.status == data.status == validation.status == pipeline.status == FAILED
    assert "comments and imports do not count" in tracking.reasons[0]
    assert "exit 0 but it wrote none of data/prepared" in data.reasons[2]
    assert "are not those of the current code" in pipeline.reasons[2]


@pytest.mark.slow
def test_make_targets_that_only_echo_earn_nothing(honest: Path, tmp_path: Path) -> None:
    project = copy_of(honest, tmp_path)
    hollow_makefile(project)  # `@echo '... mlops-policy promote ...'`

    result = evaluate(project, "L0-promotion-gate")

    assert result.status == FAILED
    assert result.reasons[0].startswith(
        "`make -n promote` runs no `mlops-policy promote` that can fail")


@pytest.mark.slow
def test_validation_that_accepts_corrupted_data_earns_nothing(honest: Path,
                                                              tmp_path: Path) -> None:
    project = copy_of(honest, tmp_path)
    contract = project / "src" / PACKAGE / "contract.py"
    contract.write_text(contract.read_text().replace(
        "        build_schema(contract).validate(frame, lazy=True)",
        "        return"))

    result = evaluate(project, "L1-data-validation")

    assert result.status == FAILED
    assert "accepted nulls in column" in result.reasons[2]


@pytest.mark.slow
def test_a_run_not_trained_with_the_tuned_best_earns_no_tuning_credit(honest: Path,
                                                                       tmp_path: Path) -> None:
    project = copy_of(honest, tmp_path)
    record = project / "reports" / "tuning.json"
    tuning = json.loads(record.read_text())
    other = next(candidate["hyperparameters"] for candidate in tuning["candidates"]
                 if candidate["hyperparameters"] != tuning["best"])
    record.write_text(json.dumps({**tuning, "best": other}))

    with Inspection(Project.open(project), run_probes=False) as inspection:
        result = run_check(inspection, "tuned_run", {"record": "reports/tuning.json"})

    assert result.status == FAILED
    assert "was not trained with the tuned best of reports/tuning.json" in result.reason


@pytest.mark.slow
def test_a_model_that_does_not_beat_a_trivial_one_earns_no_baseline_credit(
        honest: Path, tmp_path: Path) -> None:
    """The checker measures the registered model itself: on a test split whose labels are
    flipped it scores below a model that guesses, whatever the run logged."""
    project = copy_of(honest, tmp_path)
    test_file = project / "data" / "prepared" / "test.csv"
    header, rows = read_rows(test_file)
    write_rows(test_file, header, [{**row, "target": str(1 - int(row["target"]))}
                                   for row in rows])

    arguments = {"train_file": "data/prepared/train.csv"}
    with Inspection(Project.open(honest), run_probes=False) as inspection:
        honest_result = run_check(inspection, "baseline_beaten", arguments)
    with Inspection(Project.open(project), run_probes=False) as inspection:
        result = run_check(inspection, "baseline_beaten", arguments)

    assert honest_result.status == PASSED
    assert result.status == FAILED
    assert "it does not beat a trivial model's" in result.reason


SMALL_CONTRACT = {"target": "target", "columns": [
    {"name": "size", "dtype": "float", "min": 0.0, "max": 10.0},
    {"name": "target", "dtype": "int", "allowed": [0, 1]}]}


def small_table(path: Path, sizes: list[str]) -> Path:
    write_rows(path, ["size", "target"], [{"size": size, "target": str(index % 2)}
                                          for index, size in enumerate(sizes)])
    return path


def test_the_serving_door_passes_the_projects_data_and_refuses_it_corrupted(
        tmp_path: Path) -> None:
    table = small_table(tmp_path / "test.csv", ["1.5", "2.5", "9.0", "0.0", "4.0"])

    outcome = door_outcome(SMALL_CONTRACT, [table])

    assert outcome.status == PASSED
    assert outcome.reason.startswith("the model server's door (it lets test.csv through): ")
    assert "refused nulls in column size" in outcome.reason
    assert "refused out-of-range values in column size" in outcome.reason


def test_a_door_with_nothing_to_refuse_or_that_refuses_the_projects_data_earns_nothing(
        tmp_path: Path) -> None:
    loose = {**SMALL_CONTRACT, "columns": [{"name": "size", "dtype": "float", "nullable": True},
                                           SMALL_CONTRACT["columns"][1]]}
    good = small_table(tmp_path / "good.csv", ["1.5", "2.5", "9.0"])
    bad = small_table(tmp_path / "bad.csv", ["1.5", "50.0", "9.0"])

    nothing = door_outcome(loose, [good])
    refused = door_outcome(SMALL_CONTRACT, [bad])

    assert (nothing.status, nothing.reason) == (
        FAILED, "data_contract.yaml declares no column a probe can break")
    assert refused.status == FAILED
    assert refused.reason.startswith("the door refuses the project's own bad.csv: row 1, "
                                     "column 'size'")


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once closed


@pytest.mark.slow
def test_registry_controls_are_not_verified_offline_or_when_the_server_is_down(
        honest: Path, honest_card: Scorecard, tmp_path: Path) -> None:
    offline = evaluate(honest, "L0-lineage", use_tracking=False)
    project = copy_of(honest, tmp_path)
    outputs = json.loads((project / "platform_outputs.json").read_text())
    url = dead_url()
    (project / "platform_outputs.json").write_text(
        json.dumps({**outputs, "tracking_uri": url, "registry_uri": url}))
    down = evaluate(project, "L0-promotion-gate")
    results = [offline if r.control.id == "L0-lineage" else r for r in honest_card.results]
    card = Scorecard(honest, 2, 2, tuple(results), honest_card.ml_test_score, ())

    assert offline.status == down.status == NOT_VERIFIED
    assert offline.reasons[1] == "not verified: tracking server not consulted (--offline)"
    assert down.reasons[1].startswith(f"not verified: tracking server {url} unreachable")
    assert card.level_reached == BELOW_ZERO


@pytest.fixture(scope="module")
def level0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bake(tmp_path_factory.mktemp("level0"), 0, "github")


@pytest.mark.parametrize(("level", "provider"), [(0, "gitlab"), (1, "github"), (2, "gitlab")],
                         ids=["level0-gitlab", "level1-github", "level2-gitlab"])
def test_the_templates_own_files_give_the_static_evidence_of_its_level(
        tmp_path: Path, level: int, provider: str) -> None:
    project = bake(tmp_path, level, provider)
    static = [control for control in CATALOGUE if control.level <= level
              and all(kind in STATIC_KINDS for kind, _ in control.evidence)]

    with Inspection(Project.open(project), use_tracking=False, run_probes=False) as inspection:
        results = [evaluate_control(inspection, control) for control in static]

    assert {"L0-platform", "L0-ci-tests"} <= {control.id for control in static}
    assert level == 0 or "L1-continuous-training" in {control.id for control in static}
    assert [(r.control.id, r.reasons) for r in results if not r.passed] == []


def test_without_probes_or_registry_nothing_is_claimed(level0: Path) -> None:
    card = check_project(level0, use_tracking=False, run_probes=False)

    assert card.level_reached == BELOW_ZERO
    assert not card.ok
    statuses = {r.control.id: r.status for r in card.results}
    assert statuses["L0-tests"] == statuses["L0-lineage"] == NOT_VERIFIED
    assert statuses["L0-governance-params"] == PASSED


def test_a_project_without_ci_fails_the_ci_control(level0: Path, tmp_path: Path) -> None:
    project = copy_of(level0, tmp_path)
    shutil.rmtree(project / ".github")

    result = evaluate(project, "L0-ci-tests", use_tracking=False)

    assert result.status == FAILED
    assert "no CI file" in result.reasons[0]


def test_a_broken_params_file_stops_the_check_in_one_line(level0, tmp_path, capsys) -> None:
    project = copy_of(level0, tmp_path)
    (project / "params.yaml").write_text("project: [unclosed\n")

    assert cli(["check", str(project), "--offline"]) == 2

    assert capsys.readouterr().err == (
        f"mlops-policy check: {project / 'params.yaml'} is not valid YAML: expected ',' or ']', "
        "but got '<stream end>' at line 2, column 1\n")


def test_the_check_validates_params_with_the_projects_own_schema(level0, tmp_path) -> None:
    project = copy_of(level0, tmp_path)
    params = (project / "params.yaml").read_text()
    (project / "params.yaml").write_text(params.replace("test_size: 0.2", "test_size: 1.5"))

    with pytest.raises(ParamsError) as raised:
        check_project(project, use_tracking=False, run_probes=False)

    assert str(raised.value) == (f"{project / 'params.yaml'}: data.test_size = 1.5 is not valid: "
                                 "a number above 0 and below 1")


def test_a_path_that_is_no_project_is_a_clear_error(tmp_path, capsys) -> None:
    assert cli(["check", str(tmp_path)]) == 2
    assert f"{tmp_path} has no params.yaml" in capsys.readouterr().err


def project_on_platform(level0: Path, shared_platform, tmp_path: Path, model_name: str) -> Path:
    """A copy of the level-0 project whose model lives on the shared platform."""
    project = copy_of(level0, tmp_path)
    write_project(tmp_path / "gate-files", shared_platform, model_name)
    shutil.copy(tmp_path / "gate-files" / "platform_outputs.json", project)
    # The test split the gate scores the helper models on.
    shutil.copytree(tmp_path / "gate-files" / "data", project / "data", dirs_exist_ok=True)
    params = (project / "params.yaml").read_text().replace(
        "name: breast_cancer_classifier", f"name: {model_name}")
    (project / "params.yaml").write_text(params)
    return project


def test_registered_versions_without_lineage_fail_the_lineage_control(
        level0, shared_platform, tmp_path) -> None:
    model_name = fresh_model_name()
    project = project_on_platform(level0, shared_platform, tmp_path, model_name)
    unregistered = evaluate(project, "L0-lineage")
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    traced = evaluate(project, "L0-lineage")
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95, tags={})

    untraced = evaluate(project, "L0-lineage")

    assert unregistered.status == NOT_VERIFIED
    assert "no version registered yet" in unregistered.reasons[1]
    assert traced.status == PASSED
    assert "carry lineage tags" in traced.reasons[1]
    assert untraced.status == FAILED
    assert "1 of 2 registered versions" in untraced.reasons[1]


def project_with_a_gated_champion(level0: Path, platform, tmp_path: Path
                                  ) -> tuple[Path, str, str]:
    """A level-0 project whose first version the gate promoted: the project, the model name
    and the version."""
    model_name = fresh_model_name()
    project = project_on_platform(level0, platform, tmp_path, model_name)
    version = register_version(platform.tracking_uri, model_name, roc_auc=0.95)
    assert promote_project(project, actor="release-bot").outcome == "promoted"
    return project, model_name, version


def test_a_champion_set_around_the_gate_fails_the_gate_control(
        level0, shared_platform, tmp_path) -> None:
    project, model_name, gated = project_with_a_gated_champion(level0, shared_platform,
                                                               tmp_path)
    assert evaluate(project, "L0-promotion-gate").passed
    by_hand = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.96)
    MlflowClient(shared_platform.tracking_uri).set_registered_model_alias(
        model_name, ml_contract.ALIAS_CHAMPION, by_hand)

    result = evaluate(project, "L0-promotion-gate")

    assert gated != by_hand
    assert result.status == FAILED
    assert result.reasons[1].startswith(
        f"champion version {by_hand} at {shared_platform.tracking_uri} has no promotion by "
        "the gate")


def test_a_champion_whose_files_changed_fails_the_gate_control(
        level0, shared_platform, tmp_path) -> None:
    project, model_name, version = project_with_a_gated_champion(level0, shared_platform,
                                                                 tmp_path)
    promoted = evaluate(project, "L0-promotion-gate")
    # What the registry would hold had a file been swapped after the gate hashed it.
    MlflowClient(shared_platform.tracking_uri).set_model_version_tag(
        model_name, version, ml_contract.TAG_MODEL_DIGEST, "sha256:" + "0" * 64)

    changed = evaluate(project, "L0-promotion-gate")

    assert promoted.passed and "hashed again, are the ones the gate promoted" in \
        promoted.reasons[1]
    assert changed.status == FAILED
    assert "are not the ones the gate promoted" in changed.reasons[1]
