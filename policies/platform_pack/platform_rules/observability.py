"""Observability rules: every served model is scraped, and alerted on where the stack can say.

A model server counts as scraped when its pods carry the `prometheus.io/scrape|port`
annotations on a port a container declares, or when a PodMonitor (its pods) or a
ServiceMonitor (a Service of its pods) of prometheus-operator selects it on a declared
port. Alert rules are visible to the pack only as PrometheusRule objects: a model scraped
through the operator must have one with an alerting rule in the stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from .conventions import SCRAPE_ANNOTATION, SCRAPE_PORT_ANNOTATION
from .kubernetes import (
    SERVICE,
    app_containers,
    describe,
    dig,
    is_a,
    items,
    labels_match,
    mapping,
    pod_spec,
)
from .roles import is_model_server
from .rule import Rule, Settings, flag

SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"


def _skip_unless_required(args: StackValidationArgs, settings: Settings) -> None:
    if not settings["required"]:
        args.not_applicable(f"not required in {settings['environment']}")


def check_model_scraped(args: StackValidationArgs, report: ReportViolation,
                        settings: Settings) -> None:
    _skip_unless_required(args, settings)
    for server in _pod_model_servers(args.resources):
        if not (_annotated(server) or _monitors_of(server, args.resources)):
            report(f"{describe(server.resource_type, server.props, server.name)} serves a "
                   "model nobody scrapes: no metrics port is marked for Prometheus. Annotate "
                   f"its pods with {SCRAPE_ANNOTATION}: \"true\" and {SCRAPE_PORT_ANNOTATION} (a "
                   "port its containers declare), or select them with a PodMonitor or "
                   "ServiceMonitor on that port (the stack's scrape_mode).", server.urn)


def check_model_alerted(args: StackValidationArgs, report: ReportViolation,
                        settings: Settings) -> None:
    _skip_unless_required(args, settings)
    if any(_has_alert(resource) for resource in args.resources):
        return
    for server in _pod_model_servers(args.resources):
        monitors = _monitors_of(server, args.resources)
        if monitors:
            first = monitors[0]
            report(f"{describe(server.resource_type, server.props, server.name)} is scraped "
                   f"through {describe(first.resource_type, first.props, first.name)} but no "
                   "PrometheusRule of the stack has an alerting rule. Add a PrometheusRule "
                   "with the serving alerts (latency, errors, no traffic, drift, staleness).",
                   server.urn)


def _pod_model_servers(resources: list[PolicyResource]) -> list[PolicyResource]:
    return [resource for resource in resources
            if pod_spec(resource.resource_type, resource.props) is not None
            and is_model_server(resource.resource_type, resource.props)]


def _template_labels(workload: PolicyResource) -> Mapping[str, Any]:
    return mapping(dig(workload.props, "spec", "template", "metadata", "labels"))


def _declared_ports(workload: PolicyResource) -> dict[str, Any]:
    """Every container port of the pod, by name and by number (as text)."""
    spec = pod_spec(workload.resource_type, workload.props) or {}
    declared: dict[str, Any] = {}
    for container in app_containers(spec):
        for port in items(container.get("ports")):
            number = dig(port, "containerPort")
            if isinstance(number, int | float):
                declared[str(int(number))] = number
                if isinstance(dig(port, "name"), str):
                    declared[port["name"]] = number
    return declared


def _annotated(workload: PolicyResource) -> bool:
    annotations = mapping(dig(workload.props, "spec", "template", "metadata", "annotations"))
    # The usual scrape job puts the annotation into the target's address: a number only.
    port = str(annotations.get(SCRAPE_PORT_ANNOTATION))
    return (str(annotations.get(SCRAPE_ANNOTATION)).lower() == "true" and port.isdigit()
            and port in _declared_ports(workload))


def _monitors_of(workload: PolicyResource,
                 resources: list[PolicyResource]) -> list[PolicyResource]:
    """The PodMonitors and ServiceMonitors that scrape a declared port of the workload."""
    namespace = dig(workload.props, "metadata", "namespace")
    declared = _declared_ports(workload)
    found = []
    for monitor in resources:
        if not _watches(monitor, namespace):
            continue
        selector = mapping(dig(monitor.props, "spec", "selector"))
        if is_a(monitor.resource_type, POD_MONITOR):
            ports = _endpoint_ports(monitor, "podMetricsEndpoints")
            if labels_match(selector, _template_labels(workload)) and ports & declared.keys():
                found.append(monitor)
        elif is_a(monitor.resource_type, SERVICE_MONITOR):
            ports = _endpoint_ports(monitor, "endpoints")
            if any(labels_match(selector, mapping(dig(service.props, "metadata", "labels")))
                   and _service_reaches(service, workload, namespace, ports, declared)
                   for service in resources):
                found.append(monitor)
    return found


def _watches(monitor: PolicyResource, namespace: Any) -> bool:
    """Whether the monitor looks in ``namespace`` (its own namespace unless it says)."""
    chosen = mapping(dig(monitor.props, "spec", "namespaceSelector"))
    if chosen.get("any") is True:
        return True
    names = items(chosen.get("matchNames"))
    return namespace in names if names else dig(monitor.props, "metadata",
                                                "namespace") == namespace


def _endpoint_ports(monitor: PolicyResource, key: str) -> set[str]:
    ports = set()
    for endpoint in items(dig(monitor.props, "spec", key)):
        for field in ("port", "targetPort"):
            value = dig(endpoint, field)
            if isinstance(value, str):
                ports.add(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                ports.add(str(int(value)))
    return ports


def _service_reaches(service: PolicyResource, workload: PolicyResource, namespace: Any,
                     monitor_ports: set[str], declared: dict[str, Any]) -> bool:
    """A Service of the workload's pods whose monitored port leads to a declared port."""
    if not (is_a(service.resource_type, SERVICE)
            and dig(service.props, "metadata", "namespace") == namespace
            and labels_match({"matchLabels": dig(service.props, "spec", "selector")},
                             _template_labels(workload))):
        return False
    for port in items(dig(service.props, "spec", "ports")):
        target = dig(port, "targetPort")
        target = dig(port, "port") if target is None else target
        target_key = str(int(target)) if isinstance(target, int | float) else str(target)
        if str(dig(port, "name")) in monitor_ports and target_key in declared:
            return True
    return False


def _has_alert(resource: PolicyResource) -> bool:
    if not is_a(resource.resource_type, PROMETHEUS_RULE):
        return False
    return any(isinstance(dig(rule, "alert"), str) and dig(rule, "expr")
               for group in items(dig(resource.props, "spec", "groups"))
               for rule in items(dig(group, "rules")))


RULES = [
    Rule("served-model-scraped",
         "Every served model must be scraped by Prometheus on a port its pods declare.",
         check_model_scraped,
         (flag("Require the scraping.", lambda _profile: True),), stack=True),
    Rule("served-model-alerted",
         "A model scraped through prometheus-operator must have alert rules in the stack.",
         check_model_alerted,
         (flag("Require the alert rules.", lambda _profile: True),), stack=True),
]
