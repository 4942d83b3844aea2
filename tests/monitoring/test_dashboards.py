"""Every panel's query returns series from a real Prometheus holding an hour of every catalog
metric; the alert rules load and evaluate there, and only the expected one fires."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_platform.monitoring import catalog, dashboards
from mlops_platform.monitoring.alerts import rules_file
from tests.monitoring import samples
from tests.support.prometheus import Prometheus, running_prometheus

# What Grafana puts in place of the dashboards' variables.
VARIABLES = {"$__rate_interval": "5m", "$model": samples.MODEL_NAME, "$version": ".*"}


def substituted(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a dashboard variable the test does not know: {expr}"
    return expr


@pytest.fixture(scope="module")
def end() -> int:
    # The last sample, just before the server starts: its rules evaluate at "now" and must
    # find the samples within Prometheus' 5-minute lookback.
    return int(time.time()) - 10


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, end: int) -> Iterator[Prometheus]:
    base_dir = tmp_path_factory.mktemp("prometheus")
    with running_prometheus(base_dir, samples.openmetrics(end), rules_file()) as server:
        yield server


ALL = dashboards.dashboards([samples.MODEL_NAME])
QUERIES = [(name, title, expr) for name, dashboard in ALL.items()
           for title, expr in dashboards.panel_queries(dashboard)]


@pytest.mark.slow  # the tests that use the real Prometheus
@pytest.mark.parametrize("metric", catalog.METRICS, ids=lambda metric: metric.name)
def test_the_tsdb_holds_every_catalog_metric(prometheus: Prometheus, end: int,
                                             metric: catalog.Metric) -> None:
    name = f"{metric.name}_bucket" if metric.kind == "histogram" else metric.name
    assert prometheus.query(f"count({name})", end)


@pytest.mark.slow
@pytest.mark.parametrize(("dashboard", "title", "expr"), QUERIES,
                         ids=[f"{name}:{title}" for name, title, _ in QUERIES])
def test_every_panel_query_returns_series(prometheus: Prometheus, end: int, dashboard: str,
                                          title: str, expr: str) -> None:
    # Grafana asks a time series panel for a range, a stat panel for its last value.
    result = prometheus.query_range(substituted(expr), end - 1800, end, step=60)
    assert result, f"{dashboard} / {title}: no series over the last 30 minutes for {expr}"
    latest = prometheus.query(substituted(expr), end)
    assert latest, f"{dashboard} / {title}: no series at the last sample for {expr}"
    assert all(series["value"][1] != "NaN" for series in latest), latest


def test_every_catalog_metric_is_on_a_dashboard() -> None:
    exprs = " ".join(expr for _, _, expr in QUERIES)
    missing = [m.name for m in catalog.METRICS if not re.search(rf"\b{m.name}(_bucket)?\b", exprs)]
    assert not missing


def test_each_model_has_its_own_dashboard_and_uid() -> None:
    found = dashboards.dashboards(["churn", "fraud detector"])
    uids = [dashboard["uid"] for dashboard in found.values()]
    assert sorted(found) == ["mlops-model-churn.json", "mlops-model-fraud-detector.json",
                             "mlops-platform.json"]
    assert len(set(uids)) == len(uids) and all(len(uid) <= 40 for uid in uids)
    model = next(v for v in found["mlops-model-fraud-detector.json"]["templating"]["list"]
                 if v["name"] == "model")
    assert model["query"] == "fraud detector"


@pytest.mark.slow
def test_the_alert_rules_evaluate_and_only_drift_fires(prometheus: Prometheus) -> None:
    rules = prometheus.evaluated_rules()
    assert [r["name"] for r in rules if r["health"] != "ok"] == []
    firing = {r["name"] for r in rules if r["state"] == "firing"}
    assert firing == {"MlopsDriftDetected"}


def test_the_command_writes_the_dashboards(tmp_path: Path) -> None:
    assert dashboards.main(["--output-dir", str(tmp_path), "--model", "churn"]) == 0
    written = json.loads((tmp_path / "mlops-model-churn.json").read_text())
    assert written == ALL["mlops-model-churn.json"]


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_query_uses_the_datasource_variable(name: str) -> None:
    # A fixed data source uid would break on any Grafana but the one it was written for.
    panels = [panel for panel in ALL[name]["panels"] if panel["type"] != "row"]
    refs = [panel["datasource"] for panel in panels]
    refs += [target["datasource"] for panel in panels for target in panel["targets"]]
    assert refs and all(ref == {"type": "prometheus", "uid": "${datasource}"} for ref in refs)
    variables = {v["name"]: v for v in ALL[name]["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
