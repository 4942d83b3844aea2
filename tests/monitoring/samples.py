"""An hour of realistic samples of every catalog metric, as OpenMetrics text for
`promtool tsdb create-blocks-from openmetrics`.

One served model, healthy but for one thing: its last drift check found drift, so exactly
`MlopsDriftDetected` fires. Counters grow at steady rates, histograms spread requests over
their buckets (half in the first, half the rest in the next, ...), timestamp gauges lie a
plausible time in the past.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from mlops_platform.monitoring import catalog
from mlops_platform.monitoring.catalog import TRACKING_LATENCY, TRACKING_REQUESTS, Metric

MODEL_NAME = "churn"
VERSION = "3"
STEP_SECONDS = 15
WINDOW_SECONDS = 3600
LABEL_VALUES = {
    "model": (MODEL_NAME,),
    "version": (VERSION,),
    "serving_path": catalog.SERVING_PATHS,
    "code": catalog.REQUEST_CODES,
    "rule": catalog.CONTRACT_RULES,
    "arm": catalog.AB_ARMS,
}
# Requests per second by status; the 422s are the contract rejections, 0.1/s per rule.
CODE_RATES = {"200": 20.0, "400": 0.1, "413": 0.1, "422": 0.1 * len(catalog.CONTRACT_RULES),
              "500": 0.1, "503": 0.1}
COUNTER_RATES = {catalog.SERVING_CONTRACT_REJECTIONS: 0.1, catalog.SERVING_AB_ROWS: 10.0,
                 catalog.SERVING_AB_FAILURES: 0.01,
                 catalog.SHIPPER_LINES: 20.0,
                 catalog.SHIPPER_FAILURES: 0.05}
HISTOGRAM_RATE = 20.0
# Gauges: seconds in the past for timestamps, the value itself otherwise.
GAUGES_AGO = {catalog.SERVING_MODEL_TRAINED: 3 * 86400, catalog.DRIFT_LAST_SUCCESS: 3600,
              catalog.PERFORMANCE_LAST_SUCCESS: 3600, catalog.BACKUP_LAST_SUCCESS: 2 * 3600}
GAUGE_VALUES = {catalog.DRIFT_DETECTED: 1.0, catalog.DRIFT_SHARE: 0.4,
                catalog.DATA_STALENESS: 600.0, catalog.SHIPPER_LAG: 5.0,
                catalog.MODEL_PERFORMANCE: 0.93, catalog.MODEL_PERFORMANCE_ROWS: 240.0,
                catalog.MODEL_PERFORMANCE_DEGRADED: 0.0,
                catalog.MODEL_PERFORMANCE_LABEL_AGE: 7200.0, catalog.TRACKING_SERVER_UP: 1.0}
JOBS = {catalog.SHIPPER_LINES: catalog.SHIPPER_JOB, catalog.SHIPPER_FAILURES: catalog.SHIPPER_JOB,
        catalog.SHIPPER_LAG: catalog.SHIPPER_JOB, catalog.TRACKING_SERVER_UP: catalog.TRACKING_JOB}
FLASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


def job_of(metric: Metric) -> str:
    if metric in JOBS:
        return JOBS[metric]
    serving = metric.name.startswith("mlops_serving_")
    return catalog.SERVING_JOB if serving else catalog.PUSHGATEWAY_JOB


def label_sets(metric: Metric) -> Iterator[dict[str, str]]:
    for values in itertools.product(*(LABEL_VALUES[label] for label in metric.labels)):
        yield {"job": job_of(metric), **dict(zip(metric.labels, values, strict=True))}


def _line(name: str, labels: dict[str, str], value: float, at: int) -> str:
    body = ",".join(f'{key}="{val}"' for key, val in labels.items())
    return f"{name}{{{body}}} {value:g} {at}"


def _times(end: int) -> range:
    return range(end - WINDOW_SECONDS, end + 1, STEP_SECONDS)


def counter(name: str, labels: dict[str, str], rate: float, end: int) -> Iterator[str]:
    start = end - WINDOW_SECONDS
    for at in _times(end):
        yield _line(name, labels, round(rate * (at - start)), at)


def histogram(name: str, labels: dict[str, str], buckets: tuple[float, ...], rate: float,
              end: int) -> Iterator[str]:
    shares = [1 - 0.5 ** (index + 1) for index in range(len(buckets))] + [1.0]
    for bound, share in zip([*map(str, buckets), "+Inf"], shares, strict=True):
        yield from counter(f"{name}_bucket", {**labels, "le": bound}, rate * share, end)
    yield from counter(f"{name}_count", labels, rate, end)
    yield from counter(f"{name}_sum", labels, rate * buckets[0], end)


def gauge(name: str, labels: dict[str, str], value: float, end: int) -> Iterator[str]:
    for at in _times(end):
        yield _line(name, labels, value, at)


def catalog_series(metric: Metric, end: int) -> Iterator[str]:
    for labels in label_sets(metric):
        if metric.kind == "histogram":
            yield from histogram(metric.name, labels, metric.buckets, HISTOGRAM_RATE, end)
        elif metric.kind == "counter":
            rate = CODE_RATES[labels["code"]] if "code" in labels else COUNTER_RATES[metric]
            yield from counter(metric.name, labels, rate, end)
        elif metric in GAUGES_AGO:
            yield from gauge(metric.name, labels, end - GAUGES_AGO[metric], end)
        else:
            yield from gauge(metric.name, labels, GAUGE_VALUES[metric], end)


def tracking_series(end: int) -> Iterator[str]:
    """What MLflow's exporter and Prometheus itself give for the tracking server."""
    target = {"job": catalog.TRACKING_JOB, "instance": "mlflow:9103"}
    yield from gauge("up", target, 1.0, end)
    for status, rate in (("200", 5.0), ("404", 0.2)):
        labels = {**target, "method": "GET", "status": status}
        yield from counter(TRACKING_REQUESTS, labels, rate, end)
        yield from histogram(TRACKING_LATENCY, labels, FLASK_BUCKETS, rate, end)


def openmetrics(end: int) -> str:
    """Samples from an hour before `end` (Unix seconds) up to it, every 15 s."""
    lines = [line for metric in catalog.METRICS for line in catalog_series(metric, end)]
    lines += tracking_series(end)
    return "\n".join([*lines, "# EOF", ""])
