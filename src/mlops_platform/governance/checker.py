"""Evaluate the control catalogue on a project: the scorecard.

The level reached is the highest N such that every control of levels 0..N passes;
a project meets a level when it has reached it. A control passes only on evidence the
checker produced or verified; a control not verified (registry not consulted, probe not
run) is not passed. When a level-0 control does not pass the level is BELOW_ZERO (-1,
"below 0").
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_platform.client.project import Project
from mlops_platform.governance import ml_test_score
from mlops_platform.governance.checks import (
    FAILED,
    NOT_VERIFIED,
    PASSED,
    Inspection,
    probe_tasks,
    run_check,
)
from mlops_platform.governance.controls import CATALOGUE, LEVEL_NAMES, LEVELS, Control
from mlops_platform.governance.probe_cache import ProbeCache

BELOW_ZERO = -1
BELOW_ZERO_NAME = "below 0"


@dataclass(frozen=True)
class ControlResult:
    control: Control
    status: str  # passed, failed or not_verified
    reasons: tuple[str, ...]  # per evidence: what was run or read and what it showed
    unmet: tuple[str, ...] = ()  # the reasons of the evidence that did not pass: what to do

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def evidence(self) -> list[str]:
        """What the credit rests on (empty unless passed)."""
        return list(self.reasons) if self.passed else []

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.control.id, "level": self.control.level,
                "optional": self.control.optional, "title": self.control.title,
                "description": self.control.description, "how_checked": self.control.how_checked,
                "status": self.status, "passed": self.passed, "evidence": self.evidence,
                "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Scorecard:
    project: Path
    declared_level: int
    required_level: int
    results: tuple[ControlResult, ...]
    ml_test_score: dict[str, Any]
    problems: tuple[str, ...]
    reused_probes: int = 0  # probe outcomes taken from the local cache
    cache_directory: Path | None = None

    @property
    def level_reached(self) -> int:
        reached = BELOW_ZERO
        for level in LEVELS:
            if not all(r.passed for r in self.results
                       if r.control.level == level and not r.control.optional):
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
        return [r for r in self.results
                if r.control.level <= level and not r.control.optional and not r.passed]

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
            "level_name": level_name(self.level_reached),
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


def level_name(level: int) -> str:
    return LEVEL_NAMES.get(level, BELOW_ZERO_NAME)


def control_status(statuses: list[str]) -> str:
    """Failed if any evidence failed; else not verified if any could not be produced."""
    for status in (FAILED, NOT_VERIFIED):
        if status in statuses:
            return status
    return PASSED


def evaluate_control(inspection: Inspection, control: Control) -> ControlResult:
    outcomes = [run_check(inspection, kind, args) for kind, args in control.evidence]
    return ControlResult(control, control_status([o.status for o in outcomes]),
                         tuple(o.reason for o in outcomes),
                         tuple(o.reason for o in outcomes if not o.passed))


def default_jobs() -> int:
    return len(os.sched_getaffinity(0))


def check_project(path: Path | str, level: int | None = None, use_tracking: bool = True,
                  run_probes: bool | None = None, cache: ProbeCache | None = None,
                  jobs: int | None = None) -> Scorecard:
    """Scorecard of the project at `path` against `level` (default: the level it declares).

    `use_tracking=False` (--offline) leaves the registry's evidence not verified, so no
    level is reached; `run_probes=False` leaves what only running the project shows (its
    tests, its steps) not verified. Probes run by default only with the registry: an
    offline check is a quick look that cannot claim a level anyway. A params.yaml that
    breaks its schema raises ParamsError before any control runs.

    The probes run side by side in `jobs` threads (default: one per CPU). A `cache` (only
    `mlops-policy check` passes one) answers probes whose inputs are unchanged.
    """
    project = Project.open(path)
    probing = use_tracking if run_probes is None else run_probes
    with Inspection(project, use_tracking=use_tracking, run_probes=probing,
                    cache=cache) as inspection:
        if probing:
            run_side_by_side(probe_tasks(inspection, all_evidence()), jobs or default_jobs())
        results = tuple(evaluate_control(inspection, control) for control in CATALOGUE)
    declared = project.declared_level
    required = level if level is not None else declared
    return Scorecard(project=project.root, declared_level=declared, required_level=required,
                     results=results, ml_test_score=ml_test_score.score_results(results),
                     problems=tuple(dict.fromkeys(project.problems)),
                     reused_probes=len(inspection.reused),
                     cache_directory=cache.directory if cache else None)


def all_evidence() -> list[tuple[str, dict[str, Any]]]:
    return [evidence for control in CATALOGUE for evidence in control.evidence]


def run_side_by_side(tasks: list, jobs: int) -> None:
    """Run the tasks in `jobs` threads; the first error is raised once all have ended."""
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="probe") as pool:
        futures = [pool.submit(task) for task in tasks]
    for future in futures:
        future.result()
