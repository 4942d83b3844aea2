"""mlops-ab-report: the plan's sample size, the fixed horizon, the decision, the sample-ratio
check, and its statistical honesty measured by simulation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from mlops_platform.ab_test import (
    BETTER,
    DECIDED,
    JSON_REPORT,
    MARKDOWN_REPORT,
    NOT_ENOUGH_DATA,
    NOT_WORSE,
    SAMPLE_RATIO_MISMATCH,
    STOP,
    UNCHECKED,
    WORSE,
    ABTestInputError,
    Arm,
    Plan,
    decide,
    load_plan,
    main,
)
from mlops_platform.prediction_log import (
    ARM,
    CHALLENGER_ARM,
    CHAMPION_ARM,
    Predictor,
    label_lines,
    prediction_lines,
)

SERVED_AT = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LABELLED_AT = SERVED_AT + 3600
SIMULATIONS = 200
# A detection rate over 200 runs has a standard error of 0.028 at a power of 0.8: three of
# them either side.
POWER_TOLERANCE = 0.085

PLAN = {"metric": "accuracy", "baseline": 0.9, "minimum_detectable_effect": 0.03,
        "alpha": 0.05, "power": 0.8}


def plan(**changes: object) -> Plan:
    return Plan.model_validate({**PLAN, **changes})


def arms(champion: tuple[int, int, int], challenger: tuple[int, int, int]) -> dict[str, Arm]:
    """Each arm's ``(logged, labelled, correct)``."""
    return {CHAMPION_ARM: Arm(CHAMPION_ARM, *champion),
            CHALLENGER_ARM: Arm(CHALLENGER_ARM, *challenger)}


def simulate(the_plan: Plan, champion_rate: float, challenger_rate: float, seed: int,
             runs: int = SIMULATIONS) -> list[str]:
    """The decisions of ``runs`` tests that stop at the horizon, each arm's correct count drawn
    from its true accuracy (all draws in one vectorised call)."""
    planned = the_plan.sample_sizes()
    rng = np.random.default_rng(seed)
    correct = rng.binomial([planned[CHAMPION_ARM], planned[CHALLENGER_ARM]],
                           [champion_rate, challenger_rate], size=(runs, 2))
    return [decide(the_plan, arms((planned[CHAMPION_ARM],) * 2 + (int(champion),),
                                  (planned[CHALLENGER_ARM],) * 2 + (int(challenger),))).decision
            for champion, challenger in correct]


# --- the plan --------------------------------------------------------------------------------


def test_the_sample_size_is_statsmodels_power_of_two_proportions() -> None:
    # Cohen's h of 0.93 against 0.90 is 0.1080; (z 0.95 + z 0.80)^2 * 2 / h^2 = 1060.6.
    sizes = plan().sample_sizes()
    assert sizes == {CHAMPION_ARM: 1061, CHALLENGER_ARM: 1061}


def test_an_uneven_split_needs_more_rows_in_all_and_keeps_the_planned_ratio() -> None:
    even = plan().sample_sizes()
    uneven = plan(challenger_weight=0.2).sample_sizes()
    assert uneven[CHAMPION_ARM] == pytest.approx(4 * uneven[CHALLENGER_ARM], abs=4)
    assert sum(uneven.values()) > sum(even.values())


def test_error_rate_plans_the_same_test_as_accuracy_mirrored() -> None:
    as_error = plan(metric="error_rate", baseline=0.1).sample_sizes()
    assert as_error == plan().sample_sizes()


def test_a_two_sided_test_needs_more_rows() -> None:
    assert (plan(alternative="two-sided").sample_sizes()[CHAMPION_ARM]
            > plan().sample_sizes()[CHAMPION_ARM])


# --- statistical honesty, by simulation ------------------------------------------------------


@pytest.mark.parametrize("changes", [{}, {"alternative": "two-sided"}, {"challenger_weight": 0.2},
                                     {"metric": "error_rate", "baseline": 0.1}],
                         ids=["one-sided", "two-sided", "20-percent-challenger", "error-rate"])
def test_an_effect_of_the_planned_size_is_detected_at_the_planned_power(
        changes: dict[str, object]) -> None:
    the_plan = plan(**changes)
    accuracy = 0.9
    decisions = simulate(the_plan, accuracy, accuracy + the_plan.minimum_detectable_effect,
                         seed=1)
    detected = decisions.count(BETTER) / len(decisions)
    assert abs(detected - the_plan.power) < POWER_TOLERANCE, detected


@pytest.mark.parametrize("alternative", ["one-sided", "two-sided"])
def test_an_equal_challenger_is_called_better_at_most_about_alpha(alternative: str) -> None:
    the_plan = plan(alternative=alternative)
    decisions = simulate(the_plan, 0.9, 0.9, seed=2, runs=2 * SIMULATIONS)
    false_better = decisions.count(BETTER) / len(decisions)
    # One-sided: alpha; two-sided: alpha / 2 on this side. 400 runs: standard error 0.011.
    expected = the_plan.alpha if alternative == "one-sided" else the_plan.alpha / 2
    assert false_better < expected + 0.035, false_better
    assert SAMPLE_RATIO_MISMATCH not in decisions


def test_an_equal_challenger_clears_the_margin_at_the_power_the_docs_state() -> None:
    # The plan sizes the test for superiority; an equal challenger at 0.9 clears a margin of
    # 0.03 with 1061 rows per arm with probability Phi(0.03 / sqrt(2 * 0.09 / 1061) - z 0.95)
    # = Phi(0.659) = 0.745, below the planned 0.8 (docs/ab-testing.md says so).
    the_plan = plan(non_inferiority_margin=0.03)
    decisions = simulate(the_plan, 0.9, 0.9, seed=3)
    not_worse = (decisions.count(NOT_WORSE) + decisions.count(BETTER)) / len(decisions)
    assert abs(not_worse - 0.745) < POWER_TOLERANCE, not_worse


def test_a_clearly_worse_challenger_is_called_worse() -> None:
    decisions = simulate(plan(non_inferiority_margin=0.01), 0.9, 0.85, seed=4)
    assert decisions.count(WORSE) / len(decisions) > 0.99


# --- the sample-ratio check and the fixed horizon --------------------------------------------


def test_a_broken_split_is_a_sample_ratio_mismatch_that_stops_the_test() -> None:
    # 60/40 for a planned 50/50; the challenger looks far better, and that is not reported.
    result = decide(plan(), arms((3000, 3000, 2700), (2000, 2000, 1980)))
    assert result.decision == SAMPLE_RATIO_MISMATCH
    assert result.exit_code == STOP
    assert "the split is broken" in result.reason


def test_a_sound_split_rarely_looks_broken() -> None:
    rng = np.random.default_rng(5)
    challengers = rng.binomial(4000, 0.2, size=SIMULATIONS)
    the_plan = plan(challenger_weight=0.2)
    mismatches = [decide(the_plan, arms((4000 - n, 0, 0), (int(n), 0, 0))).decision
                  for n in challengers].count(SAMPLE_RATIO_MISMATCH)
    assert mismatches <= 2  # srm_alpha 0.001: 0.2 expected in 200


@pytest.mark.parametrize("challenger_correct", [0, 1000], ids=["challenger-all-wrong",
                                                              "challenger-all-right"])
def test_before_the_horizon_nothing_is_decided_whatever_the_data(challenger_correct: int) -> None:
    planned = plan().sample_sizes()[CHAMPION_ARM]
    result = decide(plan(), arms((planned, planned, 500), (1000, 1000, challenger_correct)))
    assert result.decision == NOT_ENOUGH_DATA
    assert result.exit_code == DECIDED
    assert f"1000 of its {planned} labelled rows" in result.reason


def test_at_the_horizon_the_decision_is_made() -> None:
    planned = plan().sample_sizes()[CHAMPION_ARM]
    result = decide(plan(), arms((planned, planned, int(planned * 0.9)),
                                 (planned, planned, int(planned * 0.95))))
    assert result.decision == BETTER
    assert result.difference is not None and result.difference.low > 0


# --- the plan file ---------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "expected"), [
    ({"baseline": 0.9, "minimum_detectable_effect": 0.03},
     "metric is missing: add it (the proportion compared: accuracy"),
    ({**PLAN, "metric": "roc_auc"}, "metric: Input should be 'accuracy' or 'error_rate'"),
    ({**PLAN, "power": 1.5}, "power: Input should be less than 1 (got 1.5); power is the chance"),
    ({**PLAN, "mde": 0.1}, "mde is not a key of a plan: remove it (the keys are metric, "),
    ({**PLAN, "baseline": 0.99, "minimum_detectable_effect": 0.02},
     "baseline 0.99 improved by minimum_detectable_effect 0.02 leaves (0, 1): lower the effect"),
    (["metric"], "is not a mapping of keys: write keys such as metric"),
], ids=["missing-key", "unknown-metric", "power-out-of-range", "unknown-key", "effect-too-big",
        "not-a-mapping"])
def test_a_bad_plan_is_one_line_naming_the_key_and_the_fix(tmp_path: Path, content: object,
                                                           expected: str) -> None:
    path = tmp_path / "ab_test.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(ABTestInputError) as raised:
        load_plan(path)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_plan_says_to_write_one(tmp_path: Path) -> None:
    with pytest.raises(ABTestInputError, match=r"cannot read the plan .*write it first"):
        load_plan(tmp_path / "ab_test.yaml")


# --- the command line on a real log ----------------------------------------------------------


def write_test(folder: Path, rows: dict[str, tuple[int, int]], labelled: bool = True) -> None:
    """A log of ``{arm: (rows, correct)}`` written by prediction_log's builders (label 1 for
    every row; a correct row predicted 1), and the labels of every row."""
    folder.mkdir(parents=True, exist_ok=True)
    log, labels = bytearray(), []
    for arm, (count, correct) in rows.items():
        predictor = Predictor("churn", "2" if arm == CHALLENGER_ARM else "1", "onnx", arm=arm)
        ids = [f"{arm}-{index}" for index in range(count)]
        predictions = [1] * correct + [0] * (count - correct)
        log += prediction_lines([{"x": 1.0}] * count, predictions, ids, predictor, SERVED_AT)
        labels += [(prediction_id, 1) for prediction_id in ids]
    # Rows served outside the test carry no arm and are left out.
    log += prediction_lines([{"x": 1.0}], [0], ["no-arm"], Predictor("churn", "1", "onnx"),
                            SERVED_AT)
    (folder / "predictions.jsonl").write_bytes(bytes(log))
    (folder / "labels").mkdir()
    if labelled:
        (folder / "labels" / "labels.jsonl").write_bytes(label_lines(labels, LABELLED_AT))


def run(tmp_path: Path, plan_content: dict[str, object]) -> int:
    plan_path = tmp_path / "ab_test.yaml"
    plan_path.write_text(yaml.safe_dump(plan_content))
    return main(["--plan", str(plan_path), "--predictions", str(tmp_path / "monitoring"),
                 "--labels", str(tmp_path / "monitoring" / "labels"),
                 "--report-dir", str(tmp_path / "report")])


# A small plan for the command line: 0.6 against 0.9 needs 24 rows per arm.
SMALL_PLAN = {"metric": "accuracy", "baseline": 0.6, "minimum_detectable_effect": 0.3}


def test_the_log_line_carries_the_arm_only_when_given() -> None:
    [tested] = prediction_lines([{"x": 1}], [1], ["a"], Predictor("m", "1", "onnx",
                                arm=CHALLENGER_ARM), SERVED_AT).splitlines()
    [untested] = prediction_lines([{"x": 1}], [1], ["b"], Predictor("m", "1", "onnx"),
                                  SERVED_AT).splitlines()
    assert json.loads(tested)[ARM] == CHALLENGER_ARM
    assert ARM not in json.loads(untested)
    with pytest.raises(ValueError, match="arm 'blue' is not one of champion, challenger"):
        Predictor("m", "1", "onnx", arm="blue")


@pytest.mark.parametrize(("rows", "code", "decision"), [
    ({CHAMPION_ARM: (40, 24), CHALLENGER_ARM: (40, 39)}, DECIDED, BETTER),
    ({CHAMPION_ARM: (40, 36), CHALLENGER_ARM: (40, 20)}, STOP, WORSE),
    ({CHAMPION_ARM: (10, 6), CHALLENGER_ARM: (10, 10)}, DECIDED, NOT_ENOUGH_DATA),
    ({CHAMPION_ARM: (300, 180), CHALLENGER_ARM: (100, 90)}, STOP, SAMPLE_RATIO_MISMATCH),
], ids=["better", "worse", "not-enough-data", "sample-ratio-mismatch"])
def test_the_report_on_a_log_and_its_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            rows: dict[str, tuple[int, int]], code: int,
                                            decision: str) -> None:
    write_test(tmp_path / "monitoring", rows)
    assert run(tmp_path, SMALL_PLAN) == code
    summary = json.loads((tmp_path / "report" / JSON_REPORT).read_text())
    assert summary["decision"] == decision
    assert summary["exit_code"] == code
    assert summary["arms"][CHALLENGER_ARM]["logged"] == rows[CHALLENGER_ARM][0]
    assert summary["arms"][CHALLENGER_ARM]["versions"] == ["2"]
    markdown = (tmp_path / "report" / MARKDOWN_REPORT).read_text()
    assert markdown.startswith(f"# A/B test: {decision}\n")
    assert capsys.readouterr().out.startswith(f"{decision.upper()}: ")


def test_the_report_counts_only_labelled_rows_toward_the_horizon(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_test(tmp_path / "monitoring", {CHAMPION_ARM: (40, 24), CHALLENGER_ARM: (40, 39)},
               labelled=False)
    assert run(tmp_path, SMALL_PLAN) == DECIDED
    assert "the champion has 0 of its 24 labelled rows" in capsys.readouterr().out


def test_a_log_without_arms_cannot_be_checked(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "monitoring"
    folder.mkdir()
    (folder / "predictions.jsonl").write_bytes(
        prediction_lines([{"x": 1.0}], [1], ["a"], Predictor("churn", "1", "onnx"), SERVED_AT))
    assert run(tmp_path, SMALL_PLAN) == UNCHECKED
    error = capsys.readouterr().err
    assert error.startswith("mlops-ab-report: no prediction in the log carries an arm")
    assert error.count("\n") == 1


def test_a_log_whose_arms_are_unknown_cannot_be_checked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "monitoring"
    folder.mkdir()
    line = json.loads(prediction_lines([{"x": 1.0}], [1], ["a"], Predictor("churn", "1", "onnx"),
                                       SERVED_AT))
    (folder / "predictions.jsonl").write_text(json.dumps({**line, ARM: "blue"}) + "\n")
    assert run(tmp_path, SMALL_PLAN) == UNCHECKED
    assert "carries the arm champion or challenger" in capsys.readouterr().err


def test_a_bad_plan_exits_2_with_one_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    write_test(tmp_path / "monitoring", {CHAMPION_ARM: (40, 24), CHALLENGER_ARM: (40, 39)})
    assert run(tmp_path, {**SMALL_PLAN, "alpha": 0.7}) == UNCHECKED
    error = capsys.readouterr().err
    assert "alpha: Input should be less than 0.5" in error
    assert error.count("\n") == 1
    assert not (tmp_path / "report").exists()
