"""The tables of docs/monitoring.md, written from the catalog, the rules and the thresholds
(docs/scripts/generate.py puts them in the page; a test fails when the page is stale)."""

from __future__ import annotations

import re

from mlops_platform.monitoring.alerts import AlertThresholds, rule_groups
from mlops_platform.monitoring.catalog import METRICS

_LABEL = re.compile(r"\{\{ \$labels\.(\w+) \}\}")


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


def metrics_table() -> str:
    rows = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for metric in METRICS:
        labels = ", ".join(f"`{label}`" for label in metric.labels) or "none"
        rows.append(f"| `{metric.name}` | {metric.kind} | {labels} | {_cell(metric.help)} |")
    return "\n".join(rows)


def alerts_table() -> str:
    rows = ["| alert | severity | after | fires when (default thresholds) |", "|---|---|---|---|"]
    for group in rule_groups():
        for rule in group["rules"]:
            name, anchor = rule["alert"], rule["annotations"]["runbook_url"].split("#")[1]
            text = _LABEL.sub(r"*\1*", rule["annotations"]["description"])
            rows.append(f"| [{name}](#{anchor}) | {rule['labels']['severity']} | "
                        f"{rule.get('for', 'at once')} | {_cell(text)} |")
    return "\n".join(rows)


def thresholds_table() -> str:
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, field in AlertThresholds.model_fields.items():
        rows.append(f"| `{key}` | `{field.default}` | {_cell(field.description or '')} |")
    return "\n".join(rows)
