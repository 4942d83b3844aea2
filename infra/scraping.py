"""prometheus-operator's objects that tell a Prometheus what to scrape (`scrape_mode: operator`).

A ServiceMonitor for the tracking server (MLflow's exporter, on a metrics port of its own
without login), one PodMonitor for every
serving pod of the serving namespace (MLServer's and the log shipper's ports, so models a
project deploys are scraped without an object of their own), and a ServiceMonitor for the
Pushgateway that keeps the labels the jobs pushed. In `annotations` mode the pods carry
the annotations instead and nothing is created here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_platform.kubernetes.scraping import (
    METRICS_PORT_NAME,
    MONITORING_API_VERSION,
    SHIPPER_METRICS_PORT_NAME,
    endpoint,
    monitor_spec,
)
from mlops_platform.kubernetes.topology import PUSHGATEWAY, SERVING, TRACKING
from mlops_platform.monitoring.catalog import (
    PUSHGATEWAY_JOB,
    SERVING_JOB,
    SHIPPER_JOB,
    TRACKING_JOB,
)


@dataclass
class ScrapingArgs:
    platform_namespace: str
    serving_namespace: str
    scrape_mode: str
    labels: dict[str, str] = field(default_factory=dict)


def monitors(args: ScrapingArgs) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, name, spec) of every monitor object; none unless the mode is `operator`."""
    if args.scrape_mode != "operator":
        return []
    tracking = endpoint(METRICS_PORT_NAME, TRACKING_JOB)
    serving = [endpoint(METRICS_PORT_NAME, SERVING_JOB),
               endpoint(SHIPPER_METRICS_PORT_NAME, SHIPPER_JOB)]
    pushgateway = endpoint("http", PUSHGATEWAY_JOB, honor_labels=True)
    return [
        ("ServiceMonitor", TRACKING.name,
         monitor_spec("ServiceMonitor", args.platform_namespace, TRACKING.labels, [tracking])),
        ("PodMonitor", SERVING.name,
         monitor_spec("PodMonitor", args.serving_namespace, SERVING.labels, serving)),
        ("ServiceMonitor", PUSHGATEWAY.name,
         monitor_spec("ServiceMonitor", args.platform_namespace, PUSHGATEWAY.labels,
                      [pushgateway])),
    ]


class Scraping(pulumi.ComponentResource):
    """The ServiceMonitors and the PodMonitor of the platform, in operator mode."""

    def __init__(self, name: str, args: ScrapingArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:scraping:Scraping", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        for kind, object_name, spec in monitors(args):
            namespace = spec["namespaceSelector"]["matchNames"][0]
            k8s.apiextensions.CustomResource(
                f"{name}-{kind.lower()}-{object_name}", api_version=MONITORING_API_VERSION,
                kind=kind,
                metadata={"name": object_name, "namespace": namespace,
                          "labels": {**spec["selector"]["matchLabels"], **args.labels}},
                spec=spec, opts=child)
        self.register_outputs({})
