"""How Prometheus finds the platform's metrics ports: pod annotations or the operator's objects.

One stack setting (`scrape_mode`) chooses. With `annotations`, each pod that serves
metrics carries the `prometheus.io/scrape|port|path` annotations the usual
`kubernetes-pods` scrape job reads; with `operator`, the platform creates
prometheus-operator's ServiceMonitor and PodMonitor objects instead (built here, so
the components and the tests share one spelling of them), each endpoint relabelled to
the job name the alerts and dashboards select on.
"""

from __future__ import annotations

from typing import Any, Literal

from mlops_platform.contract import SCRAPE_ANNOTATION, SCRAPE_PORT_ANNOTATION
from mlops_platform.monitoring.catalog import PUSHGATEWAY_ENV

ScrapeMode = Literal["annotations", "operator"]
SCRAPE_MODES: tuple[ScrapeMode, ...] = ("annotations", "operator")
METRICS_PATH = "/metrics"
METRICS_PORT_NAME = "metrics"
SHIPPER_METRICS_PORT_NAME = "shipper-metrics"  # a pod's port names are at most 15 characters
PATH_ANNOTATION = "prometheus.io/path"
MONITORING_API_VERSION = "monitoring.coreos.com/v1"
SCRAPE_INTERVAL = "30s"


def scrape_annotations(mode: str, port: int, path: str = METRICS_PATH) -> dict[str, str]:
    """The pod annotations that ask an annotation-driven Prometheus to scrape ``port``."""
    if mode != "annotations":
        return {}
    return {SCRAPE_ANNOTATION: "true", SCRAPE_PORT_ANNOTATION: str(port), PATH_ANNOTATION: path}


def pushgateway_env(url: str | None) -> list[dict[str, str]]:
    """A batch job's env entry naming the Pushgateway it reports to (none without one)."""
    return [{"name": PUSHGATEWAY_ENV, "value": url}] if url else []


def endpoint(port_name: str, job: str, *, honor_labels: bool = False) -> dict[str, Any]:
    """One scrape endpoint of a ServiceMonitor or PodMonitor, its targets labelled job=``job``.

    ``honor_labels`` keeps the labels the target reports (the Pushgateway's pushed `job`
    and grouping labels).
    """
    scraped: dict[str, Any] = {
        "port": port_name, "path": METRICS_PATH, "interval": SCRAPE_INTERVAL,
        "relabelings": [{"action": "replace", "targetLabel": "job", "replacement": job}]}
    if honor_labels:
        scraped["honorLabels"] = True
    return scraped


def monitor_spec(kind: str, namespace: str, selector: dict[str, str],
                 endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    """The spec of a ServiceMonitor (Service endpoints) or PodMonitor (pod ports)."""
    key = {"ServiceMonitor": "endpoints", "PodMonitor": "podMetricsEndpoints"}[kind]
    return {"selector": {"matchLabels": selector},
            "namespaceSelector": {"matchNames": [namespace]}, key: endpoints}
