"""The platform's alert rules, built from the metric catalog and a set of thresholds.

`rule_groups(thresholds)` returns the `groups:` of a Prometheus rules file: the same list a
prometheus-operator PrometheusRule holds under `spec.groups`. Each rule carries a `severity`
label and `summary`, `description` and `runbook_url` annotations; the runbook is the alert's
section of docs/monitoring.md.

    python -m mlops_platform.monitoring.alerts --output rules.yaml [--thresholds t.yaml]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from mlops_platform.monitoring.catalog import (
    BACKUP_LAST_SUCCESS,
    DRIFT_DETECTED,
    DRIFT_LAST_SUCCESS,
    DRIFT_SHARE,
    MODEL_PERFORMANCE,
    MODEL_PERFORMANCE_DEGRADED,
    MODEL_PERFORMANCE_LABEL_AGE,
    PERFORMANCE_LAST_SUCCESS,
    SERVING_CONTRACT_REJECTIONS,
    SERVING_LATENCY,
    SERVING_MODEL_TRAINED,
    SERVING_REQUESTS,
    SHIPPER_LAG,
    TRACKING_SERVER_UP,
)

RUNBOOK_PAGE = "docs/monitoring.md"
# The annotation Prometheus' community alerts (kube-prometheus, the operator's runbooks) use.
RUNBOOK_ANNOTATION = "runbook_url"
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (86400, 3600, 60, 1)


def _check_duration(text: str) -> str:
    if not text or not _DURATION.match(text):
        raise ValueError(f"{text!r} is not a Prometheus duration: write it like 30s, 5m, 1h30m, 7d")
    return text


Duration = Annotated[str, AfterValidator(_check_duration)]


def seconds(duration: str) -> int:
    """A duration such as `1h30m` in seconds."""
    parts = _DURATION.match(_check_duration(duration)).groups()  # type: ignore[union-attr]
    return sum(int(part or 0) * unit for part, unit in zip(parts, _UNIT_SECONDS, strict=True))


class AlertThresholds(BaseModel):
    """When each alert fires. Durations are Prometheus durations (`30s`, `5m`, `1h`, `7d`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_window: Duration = Field(
        "5m", description="Window of the rates the serving alerts compute (at least 4 scrapes).")
    latency_p99_seconds: float = Field(
        0.5, gt=0, description="A served model's 99th-percentile latency above this alerts.")
    latency_for: Duration = Field("10m", description="How long the p99 must stay above it.")
    server_error_ratio: float = Field(
        0.05, gt=0, le=1, description="Share of requests answered 5xx above which to alert.")
    server_error_for: Duration = Field("5m", description="How long the 5xx share must stay high.")
    contract_rejection_ratio: float = Field(
        0.2, gt=0, le=1,
        description="Share of requests refused by the data contract (422) above which to alert.")
    contract_rejection_for: Duration = Field(
        "10m", description="How long the rejection share must stay high.")
    no_traffic_window: Duration = Field(
        "30m", description="A served model that answered no request in this window alerts.")
    drift_for: Duration = Field(
        "0m", description="How long a drift verdict must stand (0m: at the first report).")
    drift_check_period: Duration = Field(
        "24h", description="The drift CronJobs' longest schedule: a model whose check has "
        "not succeeded for longer alerts.")
    drift_check_for: Duration = Field("1h", description="Grace after a missed drift check.")
    degraded_for: Duration = Field(
        "0m", description="How long a degradation verdict must stand (0m: at the first report).")
    performance_check_period: Duration = Field(
        "24h", description="The performance checks' longest schedule: a model whose check has "
        "not reached a verdict for longer alerts.")
    performance_check_for: Duration = Field(
        "1h", description="Grace after a missed performance check.")
    label_max_age: Duration = Field(
        "7d", description="A model whose newest joined label is older than this alerts: its "
        "performance is measured on old outcomes.")
    model_max_age: Duration = Field(
        "30d", description="A served version trained longer ago than this alerts.")
    backup_period: Duration = Field(
        "24h", description="The metadata backup's schedule: no success for longer alerts.")
    backup_for: Duration = Field(
        "1h", description="Grace after a missed period (a run may be late or slow).")
    tracking_down_for: Duration = Field(
        "5m", description="How long the tracking server may be unreachable before alerting.")
    shipper_max_lag: Duration = Field(
        "15m", description="Oldest prediction-log line not yet shipped: older alerts.")
    shipper_lag_for: Duration = Field("10m", description="How long the lag must stay high.")


def _selector(**labels: str) -> str:
    return "{" + ",".join(f'{name}="{value}"' for name, value in labels.items()) + "}"


def _percent(ratio: float) -> str:
    return f"{ratio * 100:g}%"


def _anchor(alert: str) -> str:
    # MkDocs' table of contents makes a heading `### MlopsModelStale` into `#mlopsmodelstale`.
    return alert.lower()


def _rule(alert: str, expr: str, duration: str, severity: str, summary: str,
          description: str, runbook_page: str) -> dict[str, Any]:
    timing = {"for": duration} if seconds(duration) else {}  # 0: fires at the first evaluation
    return {
        "alert": alert,
        "expr": expr,
        **timing,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            RUNBOOK_ANNOTATION: f"{runbook_page}#{_anchor(alert)}",
        },
    }


def _serving_rules(t: AlertThresholds, page: str) -> list[dict[str, Any]]:
    window = t.rate_window
    requests, by_model = SERVING_REQUESTS.name, "sum by (model, version)"
    model = "{{ $labels.model }} version {{ $labels.version }}"
    latency = (f"histogram_quantile(0.99, sum by (model, version, serving_path, le) "
               f"(rate({SERVING_LATENCY.name}_bucket[{window}])))")
    all_requests = f"{by_model} (rate({requests}[{window}]))"
    return [
        _rule("MlopsServingLatencyHigh", f"{latency} > {t.latency_p99_seconds}", t.latency_for,
              "warning", f"{model} answers slowly",
              f"The 99th-percentile latency of {model} ({{{{ $labels.serving_path }}}} path) "
              f"is above {t.latency_p99_seconds} s.", page),
        _rule("MlopsServingServerErrors",
              f'{by_model} (rate({requests}{{code=~"5.."}}[{window}])) / {all_requests}'
              f" > {t.server_error_ratio}", t.server_error_for,
              "critical", f"{model} fails requests",
              f"More than {_percent(t.server_error_ratio)} of the requests to {model} were "
              "answered with a 5xx status.", page),
        _rule("MlopsContractRejectionsHigh",
              f"{by_model} (rate({SERVING_CONTRACT_REJECTIONS.name}[{window}])) / {all_requests}"
              f" > {t.contract_rejection_ratio}", t.contract_rejection_for,
              "warning", f"{model} refuses many requests by its data contract",
              f"More than {_percent(t.contract_rejection_ratio)} of the requests to {model} "
              "broke the data contract (422): a client sends inputs the model was not trained "
              "on.", page),
        _rule("MlopsServingNoTraffic",
              # served for the whole window (not just deployed) and answered nothing in it
              f"count by (model, version) ({SERVING_MODEL_TRAINED.name} offset "
              f"{t.no_traffic_window}) unless "
              f"{by_model} (increase({requests}[{t.no_traffic_window}]) > 0)", "0m",
              "warning", f"{model} receives no requests",
              f"{model} is served but answered no request in the last {t.no_traffic_window}.",
              page),
        _rule("MlopsModelStale",
              f"time() - max by (model, version) ({SERVING_MODEL_TRAINED.name})"
              f" > {seconds(t.model_max_age)}", "0m",
              "warning", f"{model} is older than {t.model_max_age}",
              f"The served version of {{{{ $labels.model }}}} was trained more than "
              f"{t.model_max_age} ago: retrain it on recent data.", page),
    ]


def _batch_rules(t: AlertThresholds, page: str) -> list[dict[str, Any]]:
    backup = BACKUP_LAST_SUCCESS.name
    return [
        _rule("MlopsDriftDetected", f"max by (model) ({DRIFT_DETECTED.name}) == 1", t.drift_for,
              "warning", "Drift on the inputs served to {{ $labels.model }}",
              "The last drift check found dataset drift on the served inputs of "
              f"{{{{ $labels.model }}}} (see {DRIFT_SHARE.name} for the share of drifted "
              "columns).", page),
        _rule("MlopsDriftCheckOverdue",
              f"time() - max by (model) ({DRIFT_LAST_SUCCESS.name})"
              f" > {seconds(t.drift_check_period)}", t.drift_check_for,
              "warning", "The drift check of {{ $labels.model }} is overdue",
              f"No drift check of {{{{ $labels.model }}}} succeeded in the last "
              f"{t.drift_check_period}: its drift verdict is out of date.", page),
        *_performance_rules(t, page),
        _rule("MlopsBackupOverdue",
              f"time() - max({backup}) > {seconds(t.backup_period)}", t.backup_for,
              "critical", "The metadata database's backup is overdue",
              f"No backup of the metadata database succeeded in the last {t.backup_period}.",
              page),
        _rule("MlopsBackupMissing", f"absent({backup})", t.backup_period,
              "critical", "No backup of the metadata database is reported",
              f"No backup job reported a success for {t.backup_period}.", page),
    ]


def _performance_rules(t: AlertThresholds, page: str) -> list[dict[str, Any]]:
    model = "{{ $labels.model }} version {{ $labels.version }}"
    return [
        _rule("MlopsModelDegraded",
              f"max by (model, version) ({MODEL_PERFORMANCE_DEGRADED.name}) == 1", t.degraded_for,
              "warning", f"{model} performs worse than when it was promoted",
              f"On its latest window of labelled predictions, {model} scored below the value it "
              f"was promoted with by more than the degradation limit (see "
              f"{MODEL_PERFORMANCE.name}).", page),
        _rule("MlopsPerformanceCheckOverdue",
              f"time() - max by (model) ({PERFORMANCE_LAST_SUCCESS.name})"
              f" > {seconds(t.performance_check_period)}", t.performance_check_for,
              "warning", "The performance check of {{ $labels.model }} is overdue",
              f"No performance check of {{{{ $labels.model }}}} reached a verdict in the last "
              f"{t.performance_check_period}: too few labels, or the check fails.", page),
        _rule("MlopsLabelsStale",
              f"min by (model, version) ({MODEL_PERFORMANCE_LABEL_AGE.name})"
              f" > {seconds(t.label_max_age)}", "0m",
              "warning", f"No recent labels for {model}",
              f"The newest label joined to the predictions of {model} is older than "
              f"{t.label_max_age}: its measured performance describes old outcomes.", page),
    ]


def _platform_rules(t: AlertThresholds, page: str) -> list[dict[str, Any]]:
    # The wrapper's own series, not `up{job=...}`: pod annotations leave the job's name to the
    # scrape configuration. A failed scrape marks the series stale, so absent() is "down" too.
    running = TRACKING_SERVER_UP.name
    return [
        _rule("MlopsTrackingServerDown", f"{running} == 0 or absent({running})",
              t.tracking_down_for, "critical", "The MLflow tracking server is down",
              f"No tracking server answered Prometheus on its metrics port, or its MLflow "
              f"process exited, for {t.tracking_down_for}: runs, the registry and model "
              "downloads fail.", page),
        _rule("MlopsLogShipperLagging",
              f"max by (model) ({SHIPPER_LAG.name}) > {seconds(t.shipper_max_lag)}",
              t.shipper_lag_for, "warning",
              "Prediction logs of {{ $labels.model }} are not shipped",
              f"The oldest unshipped prediction-log line of {{{{ $labels.model }}}} is older "
              f"than {t.shipper_max_lag}: drift checks read stale inputs.", page),
    ]


def rule_groups(thresholds: AlertThresholds | None = None,
                runbook_page: str = RUNBOOK_PAGE) -> list[dict[str, Any]]:
    """The rule groups of a Prometheus rules file (a PrometheusRule's `spec.groups`)."""
    t = thresholds or AlertThresholds()
    return [
        {"name": "mlops-serving", "rules": _serving_rules(t, runbook_page)},
        {"name": "mlops-batch-jobs", "rules": _batch_rules(t, runbook_page)},
        {"name": "mlops-platform", "rules": _platform_rules(t, runbook_page)},
    ]


def alert_names() -> list[str]:
    return [rule["alert"] for group in rule_groups() for rule in group["rules"]]


def rules_file(thresholds: AlertThresholds | None = None,
               runbook_page: str = RUNBOOK_PAGE) -> str:
    """The YAML text of a rules file Prometheus loads with `rule_files:`."""
    return yaml.safe_dump({"groups": rule_groups(thresholds, runbook_page)}, sort_keys=False,
                          width=1000)


def load_thresholds(path: Path) -> AlertThresholds:
    """Thresholds from a YAML mapping; a bad key or value exits naming it."""
    try:
        return AlertThresholds.model_validate(yaml.safe_load(path.read_text()) or {})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors())
        raise SystemExit(f"error: {path}: {problems} (the keys and their defaults are "
                         "in docs/monitoring.md)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the platform's Prometheus rules file.")
    parser.add_argument("--output", type=Path, required=True, help="the rules file to write")
    parser.add_argument("--thresholds", type=Path,
                        help="YAML mapping of AlertThresholds fields (defaults otherwise)")
    parser.add_argument("--runbook-page", default=RUNBOOK_PAGE,
                        help="URL of docs/monitoring.md as your users reach it")
    args = parser.parse_args(argv)
    thresholds = load_thresholds(args.thresholds) if args.thresholds else AlertThresholds()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(rules_file(thresholds, args.runbook_page))
    return 0


if __name__ == "__main__":
    sys.exit(main())
