"""The ML Test Score rubric: its 28 tests, their evidence, and the scoring rules of the paper."""

from __future__ import annotations

import pytest

from mlops_platform.governance.controls import CONTROLS_BY_ID
from mlops_platform.governance.ml_test_score import RUBRIC, SECTIONS, interpretation, score


def all_controls(passed: bool) -> dict[str, bool]:
    return dict.fromkeys(CONTROLS_BY_ID, passed)


def test_the_rubric_has_seven_tests_in_each_of_the_four_sections() -> None:
    assert [test.section for test in RUBRIC] == [s for s in SECTIONS for _ in range(7)]
    assert [test.id for test in RUBRIC] == [f"{s}-{n}" for s in SECTIONS for n in range(1, 8)]
    assert len({test.title for test in RUBRIC}) == 28


def test_every_evidence_names_a_control_of_the_catalogue() -> None:
    named = {control for test in RUBRIC for control in test.automated + test.manual}
    assert named <= set(CONTROLS_BY_ID), named - set(CONTROLS_BY_ID)


def test_a_test_without_evidence_says_how_to_raise_it() -> None:
    assert all(test.to_raise for test in RUBRIC if not test.automated)


def test_no_control_passing_scores_zero_and_says_what_fails() -> None:
    result = score(all_controls(False))

    assert result["final"] == 0
    assert result["interpretation"].startswith("more a research project")
    first = result["tests"][0]
    assert (first["points"], first["reason"]) == (0.0, "not evidenced: failing L1-data-validation")


def test_automated_evidence_earns_a_point_manual_evidence_half() -> None:
    passed = all_controls(False) | {"L0-promotion-gate": True, "L1-model-validation": True}
    tests = {test["id"]: test for test in score(passed)["tests"]}

    assert tests["infrastructure-4"]["points"] == 0.5
    assert tests["infrastructure-4"]["reason"].startswith("manual, documented: ")
    assert tests["infrastructure-4"]["to_raise"] == "pass L1-promotion-stage"
    passed["L1-promotion-stage"] = True
    assert {t["id"]: t["points"] for t in score(passed)["tests"]}["infrastructure-4"] == 1.0


def test_each_credit_names_the_evidence_of_its_controls() -> None:
    passed = all_controls(False) | {"L0-promotion-gate": True}
    evidence = {"L0-promotion-gate": ["`make -n promote` runs `mlops-policy promote`"]}
    tests = {test["id"]: test for test in score(passed, evidence)["tests"]}

    assert tests["infrastructure-4"]["evidence"] == [
        "L0-promotion-gate: `make -n promote` runs `mlops-policy promote`"]
    assert all(test["evidence"] == [] for test in tests.values() if not test["points"])


def test_what_the_project_does_not_really_do_scores_nothing_even_with_every_control() -> None:
    """A careful reading: nobody measures what staleness costs; drift of served inputs is not
    training/serving skew (only the feature store's skew check is); nothing sees served labels
    nor a protected attribute."""
    tests = {test["id"]: test for test in score(all_controls(True))["tests"]}
    without_feature_store = {test["id"]: test for test in score(
        all_controls(True) | {"L1-feature-skew": False})["tests"]}

    assert [tests[name]["points"] for name in ("model-2", "model-4", "model-7",
                                               "monitoring-7")] == [0] * 4
    assert without_feature_store["monitoring-3"]["points"] == 0


def test_every_control_passing_scores_three_the_lowest_section_data() -> None:
    result = score(all_controls(True))

    assert {name: s["points"] for name, s in result["sections"].items()} == {
        "data": 3.0, "model": 3.5, "infrastructure": 7.0, "monitoring": 4.0}
    assert (result["final"], result["weakest"]) == (3.0, ["data"])


@pytest.mark.parametrize(("control", "items"), [
    ("L1-tuning", ["model-3"]), ("L1-baseline", ["model-5"]), ("L1-slices", ["model-6"]),
    ("L1-numerical-stability", ["monitoring-5"]), ("L2-serving-contract", ["monitoring-2"]),
    ("L2-staleness", ["monitoring-4"]), ("L2-explanations", ["infrastructure-5"]),
    ("L1-feature-skew", ["monitoring-3"])])
def test_each_new_practice_is_what_earns_its_items_automated_point(control, items) -> None:
    """Without the control's evidence the item drops: no credit rests on anything else."""
    with_it = {t["id"]: t["points"] for t in score(all_controls(True))["tests"]}
    without = {t["id"]: t["points"] for t in score(all_controls(True) | {control: False})["tests"]}

    assert [with_it[item] for item in items] == [1.0] * len(items)
    assert all(without[item] < 1.0 for item in items)
    assert {i for i in with_it if with_it[i] != without[i]} == set(items)


def test_the_final_score_is_the_lowest_section() -> None:
    result = score(all_controls(True))
    points = {name: section["points"] for name, section in result["sections"].items()}

    assert result["final"] == min(points.values())
    assert result["weakest"] == [name for name, value in points.items()
                                 if value == result["final"]]


@pytest.mark.parametrize(("value", "meaning"), [
    (0, "more a research project"), (1, "not totally untested"), (1.5, "a first pass"),
    (3, "reasonably tested"), (3.5, "strong levels"), (5.5, "exceptional levels")])
def test_the_score_reads_as_the_paper_reads_its_ranges(value, meaning) -> None:
    assert interpretation(value).startswith(meaning)
