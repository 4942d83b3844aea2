"""Every rule of the pack, and the per-environment configuration files rendered from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi_policy import Policy

from . import ml, reliability, security
from .environments import ENVIRONMENT_KEY, PROFILES
from .rule import Rule

PACK_NAME = "mlops-platform"
RULES: list[Rule] = [*security.RULES, *reliability.RULES, *ml.RULES]
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


def policies() -> list[Policy]:
    return [rule.build() for rule in RULES]


def rule_named(name: str) -> Rule:
    for rule in RULES:
        if rule.name == name:
            return rule
    raise KeyError(f"no rule {name!r}; the pack has: {', '.join(r.name for r in RULES)}")


def pack_config(environment: str) -> dict[str, Any]:
    """The `--policy-pack-config` file of one environment: its enforcement and every setting."""
    if environment not in PROFILES:
        raise ValueError(f"unknown environment {environment!r}; choose one of "
                         f"{', '.join(sorted(PROFILES))}")
    profile = PROFILES[environment]
    return {"all": profile.enforcement,
            **{rule.name: {ENVIRONMENT_KEY: environment, **rule.defaults(profile)}
               for rule in RULES}}


def render_config(environment: str) -> str:
    return json.dumps(pack_config(environment), indent=2) + "\n"


def write_config_files(directory: Path = CONFIG_DIR) -> list[Path]:
    """Write `config/<environment>.json` for every environment (run after changing a rule)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for environment in sorted(PROFILES):
        path = directory / f"{environment}.json"
        path.write_text(render_config(environment))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_config_files():
        print(path)
