"""What `mlops-policy check` prints: a short answer by default, every control with --verbose,
the scorecard unchanged with --json."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from mlops_platform.governance.checker import ControlResult, Scorecard
from mlops_platform.governance.checks import FAILED, NOT_VERIFIED, PASSED
from mlops_platform.governance.cli import main as cli
from mlops_platform.governance.controls import CATALOGUE
from mlops_platform.governance.ml_test_score import score_results
from mlops_platform.governance.scorecard_report import as_json, print_scorecard, print_summary
from tests.governance.project_trees import bake

TUNING_ADVICE = ("reports/tuning.json: the search tried 1 candidate: nothing was tuned "
                 "(give tune.grid at least two values)")
UNREACHABLE = "not verified: tracking server http://127.0.0.1:9 unreachable (refused)"
# Level 0 passes; level 1 misses tuning (failed) and slices (not verified); level 2 misses
# rollback, which the short answer leaves out: it is not the next level.
NOT_PASSING = {"L1-tuning": (FAILED, TUNING_ADVICE), "L1-slices": (NOT_VERIFIED, UNREACHABLE),
               "L2-rollback": (FAILED, "Makefile has no target rollback"),
               "L1-feature-skew": (FAILED, "run 1 logged no training/serving skew")}


def result(control_id: str) -> ControlResult:
    control = next(c for c in CATALOGUE if c.id == control_id)
    status, reason = NOT_PASSING.get(control_id, (PASSED, ""))
    evidence = "read: the files it needs"
    if status == PASSED:
        return ControlResult(control, PASSED, (evidence,))
    return ControlResult(control, status, (evidence, reason), (reason,))


@pytest.fixture
def card() -> Scorecard:
    results = tuple(result(control.id) for control in CATALOGUE)
    return Scorecard(Path("/projects/churn"), 1, 1, results, score_results(results), ())


def printed(show, card: Scorecard, width: int = 80) -> str:
    out = io.StringIO()
    show(card, Console(file=out, width=width))
    return out.getvalue()


def test_the_short_answer_gives_the_level_the_counts_and_what_the_next_level_needs(
        card: Scorecard) -> None:
    text = printed(print_summary, card)
    lines = text.splitlines()

    assert lines[:2] == ["churn: level 0 (manual) reached", "does not meet level 1"]
    assert "level 0  manual               9/9 controls pass" in lines[2]
    assert "level 1  pipeline automation  8/10 controls pass" in lines[3]
    assert "level 2  CI/CD automation     9/10 controls pass" in lines[4]
    assert lines[5].strip() == "to reach level 1 (pipeline automation):"
    assert "✗ L1-tuning Hyperparameters are tuned" in text
    assert "? L1-slices Quality holds on every data slice" in text
    assert "the search tried 1 candidate: nothing was tuned" in text
    assert "tracking server http://127.0.0.1:9 unreachable" in text
    assert "read: the files it needs" not in text  # evidence that passed is no advice
    assert "L2-rollback" not in text and "L0-tests" not in text
    assert "L1-feature-skew" not in text  # optional: no level needs it
    assert max(len(line.rstrip()) for line in lines) <= 80


def test_the_short_answer_fits_a_narrow_terminal(card: Scorecard) -> None:
    text = printed(print_summary, card, width=50)

    assert max(len(line.rstrip()) for line in text.splitlines()) <= 50
    assert "nothing was" in text and "tuned" in text


def test_a_project_that_reaches_level_two_is_told_so(card: Scorecard) -> None:
    results = tuple(ControlResult(r.control, PASSED, r.reasons) for r in card.results)
    top = Scorecard(card.project, 2, 2, results, score_results(results), ())

    text = printed(print_summary, top)

    assert text.splitlines()[:2] == ["churn: level 2 (CI/CD automation) reached",
                                     "meets level 2"]
    assert "every control of every level passes" in text
    assert "to reach" not in text


def test_verbose_lists_every_control_with_its_evidence(card: Scorecard) -> None:
    text = printed(print_scorecard, card, width=140)

    assert all(control.id in text for control in CATALOGUE)
    assert "ML Test Score credits and their evidence:" in text


def test_json_keeps_the_scorecard_fields_ci_reads(card: Scorecard) -> None:
    report = json.loads(as_json(card))

    assert (report["level_reached"], report["ok"], report["next_level"]) == (0, False, 1)
    assert report["missing_for_next_level"] == ["L1-tuning", "L1-slices"]
    assert len(report["controls"]) == len(CATALOGUE)
    assert set(report["controls"][0]) == {"id", "level", "optional", "title", "description",
                                          "how_checked", "status", "passed", "evidence",
                                          "reasons"}
    # An optional control (a template option's) fails without costing the next level.
    assert "L1-feature-skew" not in report["missing_for_next_level"]


def test_the_command_prints_the_short_answer_and_with_verbose_every_control(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    project = bake(tmp_path, 0, "github")

    assert cli(["check", str(project), "--offline"]) == 1
    short = capsys.readouterr().out
    assert cli(["check", str(project), "--offline", "--verbose"]) == 1
    verbose = capsys.readouterr().out

    assert short.startswith("breast-cancer-classifier: below 0 reached\ndoes not meet level 0\n")
    assert "to reach level 0 (manual):" in short
    assert "L1-" not in short
    assert max(len(line.rstrip()) for line in short.splitlines()) <= 100
    assert all(control.id in verbose for control in CATALOGUE)
