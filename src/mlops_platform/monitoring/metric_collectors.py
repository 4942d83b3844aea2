"""A catalog ``Metric`` as the prometheus_client collector it declares.

A leaf: the standard library and prometheus_client only, so the serving runtime imports it in
MLServer's environment and creates its collectors from the same declarations as everything
else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from mlops_platform.monitoring.catalog import Metric

Collector = Counter | Gauge | Histogram
# How the values of a gauge set in several processes (MLServer's parallel workers) combine:
# the largest of the live ones (MLServer removes a stopped worker's files).
GAUGE_MULTIPROCESS_MODE = "livemax"


def collector_of(metric: Metric, registry: CollectorRegistry = REGISTRY) -> Collector:
    """The collector ``metric`` declares (name, kind, help, labels, buckets), in ``registry``."""
    if metric.kind == "histogram":
        return Histogram(metric.name, metric.help, metric.labels, registry=registry,
                         buckets=metric.buckets)
    if metric.kind == "gauge":
        return Gauge(metric.name, metric.help, metric.labels, registry=registry,
                     multiprocess_mode=GAUGE_MULTIPROCESS_MODE)
    return Counter(metric.name, metric.help, metric.labels, registry=registry)


_serving: set[tuple[str, int]] = set()


def serve_metrics(host: str, port: int) -> None:
    """Expose this process's collectors at ``http://host:port/metrics``, once per address (a
    reloaded model calls it again)."""
    from prometheus_client import start_http_server

    if (host, port) not in _serving:
        start_http_server(port, addr=host)
        _serving.add((host, port))
