"""The exported metrics follow Prometheus' naming conventions and keep label values bounded."""

from __future__ import annotations

import re

import pytest

from mlops_platform.monitoring.catalog import METRICS, Metric

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
BASE_UNITS = ("_seconds", "_bytes", "_rows", "_ratio")
# Label values that grow without bound (per request, per row, per user) have no place here.
UNBOUNDED_LABELS = {"request_id", "row", "user", "path", "url", "column", "value"}


@pytest.mark.parametrize("metric", METRICS, ids=lambda metric: metric.name)
def test_names_are_namespaced_snake_case(metric: Metric) -> None:
    assert metric.name.startswith("mlops_") and SNAKE.match(metric.name)
    assert all(SNAKE.match(label) for label in metric.labels)


@pytest.mark.parametrize("metric", METRICS, ids=lambda metric: metric.name)
def test_counters_end_in_total_and_nothing_else_does(metric: Metric) -> None:
    assert metric.name.endswith("_total") == (metric.kind == "counter")


@pytest.mark.parametrize("metric", [m for m in METRICS if m.kind == "histogram"],
                         ids=lambda metric: metric.name)
def test_histograms_name_their_unit_and_have_sorted_buckets(metric: Metric) -> None:
    assert metric.name.endswith(BASE_UNITS)
    assert list(metric.buckets) == sorted(set(metric.buckets)) and metric.buckets


def test_no_label_has_unbounded_values() -> None:
    assert not {label for metric in METRICS for label in metric.labels} & UNBOUNDED_LABELS


def test_every_name_is_declared_once() -> None:
    names = [metric.name for metric in METRICS]
    assert len(names) == len(set(names))


def test_the_ab_arms_are_the_prediction_logs() -> None:
    from mlops_platform.monitoring.catalog import AB_ARMS
    from mlops_platform.prediction_log import ARMS

    assert AB_ARMS == ARMS
