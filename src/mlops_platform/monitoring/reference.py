"""The tables of docs/monitoring.md, written from the catalog, the rules and the thresholds
(docs/scripts/generate.py puts them in the page; a test fails when the page is stale)."""

from __future__ import annotations

import re

from mlops_platform.monitoring import catalog
from mlops_platform.monitoring.alerts import RUNBOOK_ANNOTATION, AlertThresholds, rule_groups
from mlops_platform.monitoring.catalog import METRICS, TRACKING_LATENCY, TRACKING_REQUESTS

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
            name, anchor = rule["alert"], rule["annotations"][RUNBOOK_ANNOTATION].split("#")[1]
            text = _LABEL.sub(r"*\1*", rule["annotations"]["description"])
            rows.append(f"| [{name}](#{anchor}) | {rule['labels']['severity']} | "
                        f"{rule.get('for', 'at once')} | {_cell(text)} |")
    return "\n".join(rows)


def thresholds_table() -> str:
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, field in AlertThresholds.model_fields.items():
        rows.append(f"| `{key}` | `{field.default}` | {_cell(field.description or '')} |")
    return "\n".join(rows)


def jobs_table() -> str:
    jobs = {
        catalog.TRACKING_JOB: "the MLflow tracking server (MLflow's exporter: "
                              f"`{TRACKING_REQUESTS}`, `{TRACKING_LATENCY}`)",
        catalog.SERVING_JOB: "the serving runtime's metrics port (`mlops_serving_*`)",
        catalog.SHIPPER_JOB: "the log shipper sidecar (`mlops_log_shipper_*`)",
        catalog.PUSHGATEWAY_JOB: "the Pushgateway the drift, performance and backup jobs push to "
                                 "(scraped with `honor_labels`)",
    }
    rows = ["| job label | scrapes |", "|---|---|"]
    rows += [f"| `{job}` | {text} |" for job, text in jobs.items()]
    return "\n".join(rows)
