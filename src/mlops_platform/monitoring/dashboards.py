"""Grafana dashboards over the catalog's metrics, built with Grafana's Foundation SDK.

One dashboard per served model (traffic, latency, errors, contract rejections, drift,
staleness, performance on labelled predictions) and one for the platform (tracking server,
log shipper, backup, drift and performance jobs).
Each is the JSON Grafana's file provisioning reads, and the data of a ConfigMap labelled
`grafana_dashboard: "1"` for kube-prometheus-stack's Grafana sidecar.

    python -m mlops_platform.monitoring.dashboards --output-dir DIR --model churn [--model ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.builders.dashboard import (
    ConstantVariable,
    Dashboard,
    DatasourceVariable,
    QueryVariable,
    Row,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    ValueMap,
    ValueMappingResult,
    VariableRefresh,
)

from mlops_platform.monitoring.catalog import (
    BACKUP_LAST_SUCCESS,
    DATA_STALENESS,
    DRIFT_DETECTED,
    DRIFT_LAST_SUCCESS,
    DRIFT_SHARE,
    MODEL_PERFORMANCE,
    MODEL_PERFORMANCE_DEGRADED,
    MODEL_PERFORMANCE_LABEL_AGE,
    MODEL_PERFORMANCE_ROWS,
    PERFORMANCE_LAST_SUCCESS,
    SERVING_AB_FAILURES,
    SERVING_AB_PREDICT_SECONDS,
    SERVING_AB_ROWS,
    SERVING_BATCH_ROWS,
    SERVING_CONTRACT_REJECTIONS,
    SERVING_LATENCY,
    SERVING_MODEL_TRAINED,
    SERVING_REQUEST_ROWS,
    SERVING_REQUESTS,
    SHIPPER_FAILURES,
    SHIPPER_LAG,
    SHIPPER_LINES,
    TRACKING_LATENCY,
    TRACKING_REQUESTS,
    TRACKING_SERVER_UP,
)

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
SERVED = 'model="$model",version=~"$version"'
_SLUG = re.compile(r"[^a-z0-9-]+")
Query = tuple[str, str]  # (PromQL, legend)


def _query(expr: str, legend: str) -> Dataquery:
    return Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)


def _graph(title: str, unit: str, queries: list[Query], width: int = 12) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).span(width)
    for expr, legend in queries:
        panel = panel.with_target(_query(expr, legend))
    return panel.height(8)


def _stat(title: str, unit: str, expr: str, legend: str = "", width: int = 6,
          mapping: dict[str, str] | None = None) -> stat.Panel:
    panel = (stat.Panel().title(title).unit(unit).datasource(DATASOURCE).span(width).height(5)
             .with_target(_query(expr, legend)))
    if mapping:  # value -> text; 0 is the healthy value, shown green
        panel = panel.mappings([ValueMap({
            value: ValueMappingResult(text=text, color="green" if value == "0" else "red")
            for value, text in mapping.items()})])
    return panel


def _quantiles(metric: str, selector: str, *by: str, name: str = "") -> list[Query]:
    legend = " ".join(f"{{{{{label}}}}}" for label in by)
    matchers = f"{{{selector}}}" if selector else ""
    return [(f"histogram_quantile({q}, sum by ({', '.join(by)}, le) "
             f"(rate({metric}_bucket{matchers}[{RATE}])))",
             f"{name}p{round(q * 100)} {legend}") for q in (0.5, 0.99)]


def _datasource() -> DatasourceVariable:
    return DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def _model_panels() -> list[tuple[str, list[Any]]]:
    requests = SERVING_REQUESTS.name
    return [
        ("Traffic", [
            _graph("Requests per second by status", "reqps", [(
                f"sum by (version, serving_path, code) "
                f"(rate({requests}{{{SERVED}}}[{RATE}]))",
                "{{version}} {{serving_path}} {{code}}")]),
            _graph("Rows per request and per model call", "short",
                   _quantiles(SERVING_REQUEST_ROWS.name, SERVED, "version", name="request ")
                   + _quantiles(SERVING_BATCH_ROWS.name, SERVED, "version", name="model call ")),
            # The model's selector only: the challenger's rows carry its own version.
            _graph("A/B test: share of rows by arm", "percentunit", [(
                f'sum by (arm, version) (rate({SERVING_AB_ROWS.name}{{model="$model"}}[{RATE}]))'
                f' / scalar(sum(rate({SERVING_AB_ROWS.name}{{model="$model"}}[{RATE}])))',
                "{{arm}} ({{version}})")]),
            _graph("A/B test: prediction time by arm", "s",
                   _quantiles(SERVING_AB_PREDICT_SECONDS.name, 'model="$model"', "arm")),
            _graph("A/B test: failed predictions per second by arm", "reqps", [(
                f'sum by (arm) (rate({SERVING_AB_FAILURES.name}{{model="$model"}}[{RATE}]))',
                "{{arm}}")], width=24),
        ]),
        ("Latency and errors", [
            _graph("Latency p50 and p99", "s",
                   _quantiles(SERVING_LATENCY.name, SERVED, "version", "serving_path")),
            _graph("Errors per second by status", "reqps", [(
                f'sum by (code) (rate({requests}{{{SERVED},code!="200"}}[{RATE}]))',
                "{{code}}")]),
            _graph("Contract rejections per second by rule", "reqps", [(
                f"sum by (rule) (rate({SERVING_CONTRACT_REJECTIONS.name}{{{SERVED}}}[{RATE}]))",
                "{{rule}}")], width=24),
        ]),
        ("Drift and staleness", [
            _stat("Drift verdict", "none", f'max({DRIFT_DETECTED.name}{{model="$model"}})',
                  mapping={"0": "no drift", "1": "drift"}),
            _stat("Share of drifted columns", "percentunit",
                  f'max({DRIFT_SHARE.name}{{model="$model"}})'),
            _stat("Age of the served data", "s",
                  f'max({DATA_STALENESS.name}{{model="$model"}})'),
            _stat("Model age", "s",
                  f"time() - max by (version) ({SERVING_MODEL_TRAINED.name}{{{SERVED}}})",
                  "{{version}}"),
        ]),
        ("Performance on labelled predictions", [
            _graph("Primary metric on the latest labelled window", "none", [(
                f"max by (version) ({MODEL_PERFORMANCE.name}{{{SERVED}}})", "{{version}}")]),
            _stat("Performance verdict", "none",
                  f"max({MODEL_PERFORMANCE_DEGRADED.name}{{{SERVED}}})",
                  mapping={"0": "healthy", "1": "degraded"}, width=4),
            _stat("Labelled rows in that window", "short",
                  f"max({MODEL_PERFORMANCE_ROWS.name}{{{SERVED}}})", width=4),
            _stat("Age of the newest label", "s",
                  f"min({MODEL_PERFORMANCE_LABEL_AGE.name}{{{SERVED}}})", width=4),
        ]),
    ]


def model_dashboard(model: str) -> dict[str, Any]:
    """The dashboard of one served model, as Grafana's JSON."""
    version = (QueryVariable("version").label("Version").datasource(DATASOURCE)
               .query(f'label_values({SERVING_MODEL_TRAINED.name}{{model="$model"}}, version)')
               .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
               .multi(True).include_all(True).all_value(".*"))
    builder = (Dashboard(f"Served model: {model}").uid(_uid("model", model))
               .tags(["mlops", "serving"]).refresh("1m").time("now-6h", "now")
               .with_variable(_datasource())
               .with_variable(ConstantVariable("model").value(model))
               .with_variable(version))
    return _encode(_with_rows(builder, _model_panels()))


def _platform_panels() -> list[tuple[str, list[Any]]]:
    return [
        ("Tracking server", [
            _stat("Tracking servers running", "none", f"sum({TRACKING_SERVER_UP.name})"),
            _graph("Tracking requests per second by status", "reqps", [(
                f"sum by (status) (rate({TRACKING_REQUESTS}[{RATE}]))", "{{status}}")],
                width=9),
            _graph("Tracking latency p50 and p99", "s",
                   _quantiles(TRACKING_LATENCY, "", "method"), width=9),
        ]),
        ("Prediction-log shipping", [
            _graph("Shipper lag (oldest unshipped line)", "s",
                   [(f"max by (model) ({SHIPPER_LAG.name})", "{{model}}")], width=8),
            _graph("Lines shipped per second", "short", [(
                f"sum by (model) (rate({SHIPPER_LINES.name}[{RATE}]))", "{{model}}")], width=8),
            _graph("Upload failures per second", "short", [(
                f"sum by (model) (rate({SHIPPER_FAILURES.name}[{RATE}]))", "{{model}}")],
                width=8),
        ]),
        ("Batch jobs", [
            _stat("Time since the last backup", "s",
                  f"time() - max({BACKUP_LAST_SUCCESS.name})", width=8),
            _graph("Time since each drift check last succeeded", "s", [(
                f"time() - max by (model) ({DRIFT_LAST_SUCCESS.name})", "{{model}}")],
                width=8),
            _graph("Time since each performance check last reached a verdict", "s", [(
                f"time() - max by (model) ({PERFORMANCE_LAST_SUCCESS.name})", "{{model}}")],
                width=8),
        ]),
    ]


def platform_dashboard() -> dict[str, Any]:
    """The platform's dashboard (tracking server, log shipper, backup, drift and performance
    jobs)."""
    builder = (Dashboard("MLOps platform").uid("mlops-platform").tags(["mlops"])
               .refresh("1m").time("now-6h", "now").with_variable(_datasource()))
    return _encode(_with_rows(builder, _platform_panels()))


def _with_rows(builder: Dashboard, rows: list[tuple[str, list[Any]]]) -> Dashboard:
    ids = iter(range(1, 1000))  # unique panel ids: Grafana links and edits panels by id
    for title, panels in rows:
        builder = builder.with_row(Row(title).id(next(ids)))
        for panel in panels:
            builder = builder.with_panel(panel.id(next(ids)))
    return builder


def _uid(*parts: str) -> str:
    # Grafana's uids are at most 40 characters.
    return _SLUG.sub("-", "-".join(("mlops", *parts)).lower())[:40]


def _encode(builder: Dashboard) -> dict[str, Any]:
    return json.loads(JSONEncoder().encode(builder.build()))


def dashboards(models: Iterable[str]) -> dict[str, dict[str, Any]]:
    """File name -> dashboard JSON: the platform's and one per served model."""
    found = {"mlops-platform.json": platform_dashboard()}
    for model in models:
        found[f"{_uid('model', model)}.json"] = model_dashboard(model)
    return found


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of every panel."""
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"]
            if panel.get("type") != "row" for target in panel.get("targets", [])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the platform's Grafana dashboards.")
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--model", action="append", default=[],
                        help="a served model's registered name (repeat for each)")
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name, dashboard in dashboards(args.model).items():
        (args.output_dir / name).write_text(json.dumps(dashboard, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
