"""The platform's promotion rules (governance/rules/promotion.yaml, shipped in the wheel) and
how a project's params.yaml combines with them: it may only tighten them, never loosen them.

The rules are the gate's data and live beside it; this reader sits in the client layer
because the monitoring checks and the training steps read them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

RULES_PACKAGE = "mlops_platform.governance"  # read as data: nothing of it is imported
RULES_RESOURCE = "rules/promotion.yaml"


class PlatformRulesError(ValueError):
    """The project asks for something the platform's rules do not allow."""


@dataclass(frozen=True)
class EnvironmentRule:
    max_tolerance: float
    approval: bool
    identity_sources: tuple[str, ...]
    recent_window: str  # the width of the gate's recent window of labelled rows, e.g. 1d


@dataclass(frozen=True)
class PlatformRules:
    metrics: dict[str, dict[str, Any]]
    environments: dict[str, EnvironmentRule]
    level_approval: dict[int, bool]
    level_explanations: dict[int, bool]
    evaluation: dict[str, Any]

    def metric(self, name: str) -> dict[str, Any]:
        if name not in self.metrics:
            raise PlatformRulesError(
                f"promotion.primary_metric = {name!r} is not a metric the platform promotes on: "
                f"one of {', '.join(self.metrics)}")
        return self.metrics[name]

    def environment(self, name: str) -> EnvironmentRule:
        if name not in self.environments:
            raise PlatformRulesError(f"environment {name!r} has no promotion rules: one of "
                                     f"{', '.join(self.environments)}")
        return self.environments[name]

    def approval_required(self, environment: str, level: int) -> bool:
        return self.environment(environment).approval or self.level_approval.get(level, True)

    def explanations_required(self, level: int) -> bool:
        return self.level_explanations.get(level, True)


@cache
def platform_rules() -> PlatformRules:
    text = resources.files(RULES_PACKAGE).joinpath(RULES_RESOURCE).read_text()
    data = yaml.safe_load(text)
    return PlatformRules(
        metrics=data["metrics"],
        environments={name: EnvironmentRule(float(rule["max_tolerance"]), bool(rule["approval"]),
                                            tuple(rule["identity_sources"]),
                                            str(rule["recent_window"]))
                      for name, rule in data["environments"].items()},
        level_approval={int(level): bool(rule["approval"])
                        for level, rule in data["levels"].items()},
        level_explanations={int(level): bool(rule["explanations"])
                            for level, rule in data["levels"].items()},
        evaluation=data["evaluation"])


MONITORING_RESOURCE = "rules/monitoring.yaml"


@dataclass(frozen=True)
class DegradationRule:
    """How far a live metric may worsen from its promoted value, once a project's own limit
    (which may only be smaller) is applied."""

    metric: str
    higher_is_better: bool
    max_drop: float

    def degraded(self, value: float, baseline: float) -> bool:
        worsening = baseline - value if self.higher_is_better else value - baseline
        return worsening > self.max_drop

    def bar(self, baseline: float) -> float:
        """The worst value that is not yet degraded."""
        return baseline - self.max_drop if self.higher_is_better else baseline + self.max_drop


@cache
def degradation_rules() -> dict[str, dict[str, Any]]:
    text = resources.files(RULES_PACKAGE).joinpath(MONITORING_RESOURCE).read_text()
    return yaml.safe_load(text)["degradation"]


def degradation_rule(metric: str, project_max_drop: float | None = None) -> DegradationRule:
    """The platform's rule for ``metric`` tightened by the project's limit: a project limit
    above the platform's is refused, never used."""
    rules = degradation_rules()
    if metric not in rules:
        raise PlatformRulesError(f"metric {metric!r} has no degradation rule: one of "
                                 f"{', '.join(rules)}")
    rule = rules[metric]
    platform_limit = rule["max_drop"]
    if project_max_drop is not None and project_max_drop < 0:
        raise PlatformRulesError(f"max drop {project_max_drop:g} for {metric} is negative: give "
                                 "the largest worsening allowed, 0 or more")
    if platform_limit is None:
        if project_max_drop is None:
            raise PlatformRulesError(
                f"{metric} is in the target's units, so the platform sets no degradation limit "
                f"for it: give the project's own (--max-drop, e.g. a tenth of the promoted "
                f"{metric})")
        return DegradationRule(metric, bool(rule["higher_is_better"]), project_max_drop)
    if project_max_drop is not None and project_max_drop > platform_limit:
        raise PlatformRulesError(
            f"max drop {project_max_drop:g} for {metric} loosens the platform's limit of "
            f"{platform_limit:g} ({MONITORING_RESOURCE}): a project may only tighten it; give "
            f"{platform_limit:g} or less")
    limit = platform_limit if project_max_drop is None else project_max_drop
    return DegradationRule(metric, bool(rule["higher_is_better"]), float(limit))
