"""The platform's promotion rules (rules/promotion.yaml, shipped in the wheel) and how a
project's params.yaml combines with them: it may only tighten them, never loosen them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

RULES_RESOURCE = "rules/promotion.yaml"


class PlatformRulesError(ValueError):
    """The project asks for something the platform's rules do not allow."""


@dataclass(frozen=True)
class EnvironmentRule:
    max_tolerance: float
    approval: bool
    identity_sources: tuple[str, ...]


@dataclass(frozen=True)
class PlatformRules:
    metrics: dict[str, dict[str, Any]]
    environments: dict[str, EnvironmentRule]
    level_approval: dict[int, bool]
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


@cache
def platform_rules() -> PlatformRules:
    text = resources.files("mlops_platform.governance").joinpath(RULES_RESOURCE).read_text()
    data = yaml.safe_load(text)
    return PlatformRules(
        metrics=data["metrics"],
        environments={name: EnvironmentRule(float(rule["max_tolerance"]), bool(rule["approval"]),
                                            tuple(rule["identity_sources"]))
                      for name, rule in data["environments"].items()},
        level_approval={int(level): bool(rule["approval"])
                        for level, rule in data["levels"].items()},
        evaluation=data["evaluation"])
