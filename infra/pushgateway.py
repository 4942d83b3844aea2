"""Prometheus' Pushgateway: where the drift and backup jobs leave the result of their last run.

Batch jobs end before any scrape could reach them, so they push (Prometheus' advice for
batch jobs) and Prometheus scrapes the Pushgateway, keeping the pushed `job` label
(honorLabels). It keeps what was pushed in memory only: a restart forgets it until each
job's next run, which the alerts' "last success" windows allow for.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mlops_platform.kubernetes.kube_types import resources
from mlops_platform.kubernetes.scraping import scrape_annotations
from mlops_platform.kubernetes.security import (
    hardened_container,
    hardened_pod_spec,
    tokenless_service_account,
)
from mlops_platform.kubernetes.topology import PUSHGATEWAY

PUSHGATEWAY_RESOURCES = resources("50m", "64Mi", "250m", "256Mi")


def pushgateway_url(namespace: str) -> str:
    """What the jobs push to: the Service's in-cluster name and port."""
    return f"http://{PUSHGATEWAY.name}.{namespace}.svc:{PUSHGATEWAY.port}"


@dataclass
class PushgatewayArgs:
    namespace: str
    image: str
    scrape_mode: str = "annotations"


class Pushgateway(pulumi.ComponentResource):
    """One Pushgateway Deployment and its Service in the platform namespace."""

    url: str

    def __init__(self, name: str, args: PushgatewayArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:pushgateway:Pushgateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tokenless_service_account(f"{name}-sa", PUSHGATEWAY.name, args.namespace, child)
        metadata = {"name": PUSHGATEWAY.name, "namespace": args.namespace,
                    "labels": PUSHGATEWAY.labels}
        annotations = scrape_annotations(args.scrape_mode, PUSHGATEWAY.port)
        k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=metadata,
            spec={"replicas": 1, "selector": {"matchLabels": PUSHGATEWAY.labels},
                  "template": {"metadata": {"labels": PUSHGATEWAY.labels,
                                            **({"annotations": annotations}
                                               if annotations else {})},
                               "spec": _pod_spec(args)}},
            opts=child)
        k8s.core.v1.Service(
            f"{name}-service", metadata=metadata,
            spec={"selector": PUSHGATEWAY.labels,
                  "ports": [{"name": "http", "port": PUSHGATEWAY.port, "targetPort": "http"}]},
            opts=child)
        self.url = pushgateway_url(args.namespace)
        self.register_outputs({"url": self.url})


def _pod_spec(args: PushgatewayArgs) -> dict:
    def probe(path: str, period: int) -> dict:
        return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period}

    container = hardened_container(
        "pushgateway", args.image, PUSHGATEWAY_RESOURCES,
        # The image's own entrypoint, named so a stand-in with another default runs it too.
        command=["/bin/pushgateway"], args=[f"--web.listen-address=:{PUSHGATEWAY.port}"],
        ports=[{"name": "http", "containerPort": PUSHGATEWAY.port}],
        readinessProbe=probe("/-/ready", 10), livenessProbe=probe("/-/healthy", 20))
    return hardened_pod_spec([container], service_account=PUSHGATEWAY.name)
