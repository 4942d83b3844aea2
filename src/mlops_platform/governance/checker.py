"""Evaluate the control catalogue on a project: the scorecard.

The level reached is the highest N such that every control of levels 0..N passes;
a project meets a level when it has reached it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_platform.governance import ml_test_score
from mlops_platform.governance.checks import Inspection, run_check
from mlops_platform.governance.controls import CATALOGUE, LEVEL_NAMES, LEVELS, Control
from mlops_platform.governance.project import Project


@dataclass(frozen=True)
class ControlResult:
    control: Control
    passed: bool
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.control.id, "level": self.control.level, "title": self.control.title,
                "description": self.control.description, "how_checked": self.control.how_checked,
                "passed": self.passed, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Scorecard:
    project: Path
    declared_level: int
    required_level: int
    results: tuple[ControlResult, ...]
    ml_test_score: dict[str, Any]
    problems: tuple[str, ...]

    @property
    def level_reached(self) -> int:
        reached = -1
        for level in LEVELS:
            if not all(r.passed for r in self.results if r.control.level == level):
                break
            reached = level
        return reached

    @property
    def meets_required_level(self) -> bool:
        return self.level_reached >= self.required_level

    @property
    def ok(self) -> bool:
        """The project meets the required level (params.yaml, validated, declares one)."""
        return self.meets_required_level

    def missing_for(self, level: int) -> list[ControlResult]:
        return [r for r in self.results if r.control.level <= level and not r.passed]

    @property
    def next_level(self) -> int | None:
        following = self.level_reached + 1
        return following if following in LEVELS else None

    def as_dict(self) -> dict[str, Any]:
        next_level = self.next_level
        return {
            "project": str(self.project),
            "declared_level": self.declared_level,
            "required_level": self.required_level,
            "level_reached": self.level_reached,
            "level_name": LEVEL_NAMES.get(self.level_reached, "none"),
            "meets_required_level": self.meets_required_level,
            "ok": self.ok,
            "missing_for_required_level": [r.control.id
                                           for r in self.missing_for(self.required_level)],
            "next_level": next_level,
            "missing_for_next_level": ([r.control.id for r in self.missing_for(next_level)]
                                       if next_level is not None else []),
            "controls": [result.as_dict() for result in self.results],
            "ml_test_score": self.ml_test_score,
            "problems": list(self.problems),
        }


def evaluate_control(inspection: Inspection, control: Control) -> ControlResult:
    outcomes = [run_check(inspection, kind, args) for kind, args in control.evidence]
    return ControlResult(control, all(o.passed for o in outcomes),
                         tuple(o.reason for o in outcomes))


def check_project(path: Path | str, level: int | None = None,
                  use_tracking: bool = True) -> Scorecard:
    """Scorecard of the project at `path` against `level` (default: the level it declares).

    A params.yaml that breaks its schema raises ParamsError before any control runs.
    """
    project = Project.open(path)
    inspection = Inspection(project, use_tracking=use_tracking)
    results = tuple(evaluate_control(inspection, control) for control in CATALOGUE)
    passed = {result.control.id: result.passed for result in results}
    declared = project.declared_level
    required = level if level is not None else declared
    return Scorecard(project=project.root, declared_level=declared, required_level=required,
                     results=results, ml_test_score=ml_test_score.score(passed),
                     problems=tuple(dict.fromkeys(project.problems)))
