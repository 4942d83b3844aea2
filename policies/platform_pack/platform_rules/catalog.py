"""Every rule of the pack, and the per-environment configuration files rendered from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi_policy import Policy

from . import access, ml, observability, pod_security, reliability, security
from .environments import ENVIRONMENT_KEY, PROFILES, Profile
from .rule import Rule

PACK_NAME = "mlops-platform"
RULES: list[Rule] = [*security.RULES, *pod_security.RULES, *access.RULES, *reliability.RULES,
                     *ml.RULES, *observability.RULES]
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


def markdown_table() -> str:
    """The README's table of rules: name, what it demands, and where it applies by default."""
    rows = ["| policy | demands | dev | staging | prod |", "|---|---|---|---|---|"]
    for rule in RULES:
        cells = [_applies(rule, PROFILES[env]) for env in ("dev", "staging", "prod")]
        rows.append(f"| `{rule.name}` | {rule.description} | {' | '.join(cells)} |")
    return "\n".join(rows)


def _applies(rule: Rule, profile: Profile) -> str:
    defaults = rule.defaults(profile)
    if defaults.get("required") is False:
        return "-"
    level = profile.enforcement
    shown = {key: value for key, value in defaults.items() if key != "required"}
    if "requireDigest" in shown:
        return f"{level}{' (digest)' if shown['requireDigest'] else ''}"
    if "minReplicas" in shown:
        return f"{level} (>= {shown['minReplicas']})"
    return level


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
