"""What the platform tells Prometheus and Grafana: its alert rules and its dashboards.

The rules (`mlops_platform.monitoring.alerts`, thresholds from the stack's
`alert_thresholds`) become a prometheus-operator PrometheusRule in `operator` scrape mode,
or a ConfigMap holding the rules file that an annotation-driven Prometheus mounts. The
dashboards (`mlops_platform.monitoring.dashboards`: the platform's and one per served
model) are ConfigMaps in the monitoring namespace labelled for Grafana's sidecar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from mlops_platform.kubernetes.topology import PART_OF
from mlops_platform.monitoring.alerts import AlertThresholds, rule_groups, rules_file
from mlops_platform.monitoring.dashboards import dashboards

RULES_NAME = "mlops-platform"
RULES_FILE_KEY = "mlops-platform.rules.yml"
# kube-prometheus-stack's Grafana sidecar loads every ConfigMap that carries this label.
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
PROMETHEUS_RULE_API_VERSION = "monitoring.coreos.com/v1"


@dataclass
class ObservabilityArgs:
    platform_namespace: str
    monitoring_namespace: str
    scrape_mode: str
    thresholds: AlertThresholds
    runbook_page: str
    models: list[str]
    labels: dict[str, str] = field(default_factory=dict)


class Observability(pulumi.ComponentResource):
    """The platform's alert rules and Grafana dashboards."""

    def __init__(self, name: str, args: ObservabilityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:observability:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        metadata = {"name": RULES_NAME, "namespace": args.platform_namespace,
                    "labels": {"app.kubernetes.io/part-of": PART_OF, **args.labels}}
        if args.scrape_mode == "operator":
            k8s.apiextensions.CustomResource(
                f"{name}-rules", api_version=PROMETHEUS_RULE_API_VERSION, kind="PrometheusRule",
                metadata=metadata,
                spec={"groups": rule_groups(args.thresholds, args.runbook_page)}, opts=child)
        else:
            k8s.core.v1.ConfigMap(
                f"{name}-rules", metadata={**metadata, "name": f"{RULES_NAME}-rules"},
                data={RULES_FILE_KEY: rules_file(args.thresholds, args.runbook_page)},
                opts=child)
        for file_name, dashboard in dashboards(args.models).items():
            object_name = file_name.removesuffix(".json")
            k8s.core.v1.ConfigMap(
                f"{name}-{object_name}",
                metadata={"name": f"{object_name}-dashboard",
                          "namespace": args.monitoring_namespace,
                          "labels": {"app.kubernetes.io/part-of": PART_OF,
                                     **DASHBOARD_LABEL}},
                data={file_name: json.dumps(dashboard, sort_keys=True)}, opts=child)
        self.register_outputs({})
