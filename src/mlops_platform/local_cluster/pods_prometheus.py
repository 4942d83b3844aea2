"""The Prometheus `make pods` runs: what the stack's ServiceMonitors and PodMonitors ask for.

A cluster's prometheus-operator turns each monitor into a scrape job over the endpoints
its selector matches. `make pods` has no Kubernetes API to discover them, so the same
objects are read from the rendered manifests and turned into static targets on the pods'
network: every pod answers under the DNS names of the Services that select it, so a
Service endpoint is `<service>.<namespace>.svc.cluster.local:<port>` and a pod's port is
reached through one of those names. The monitors' job relabelling, honorLabels and basic
auth carry over; the rendered PrometheusRules become the rule files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from mlops_platform.kubernetes.scraping import METRICS_PATH
from mlops_platform.kubernetes.topology import PROMETHEUS

CLUSTER_DOMAIN = "svc.cluster.local"
MONITOR_KINDS = ("ServiceMonitor", "PodMonitor")
# The image a cluster's Prometheus runs (make pods runs its stand-in, see pods.py).
PROMETHEUS_IMAGE = "prom/prometheus:v2.53.2"
CONFIG_DIR = "/etc/prometheus"
CONFIG_SECRET = "prometheus-config"  # noqa: S105 - a Secret's name
RULES_KEY = "rules.yml"
HARDENED = {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}

Manifest = dict[str, Any]
# (namespace, Secret name) -> that Secret's values, as the kubelet would read them.
SecretReader = Callable[[str, str], Mapping[str, str]]


class ScrapeConfigError(ValueError):
    """A monitor selects nothing or names a port no selected object has."""


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: str


@dataclass(frozen=True)
class ScrapeJob:
    """One static scrape job: its job label, path, targets and what the target asks for."""

    job: str
    targets: tuple[str, ...]
    path: str = METRICS_PATH
    honor_labels: bool = False
    basic_auth: BasicAuth | None = None


def scrape_jobs(manifests: list[Manifest], secret: SecretReader) -> list[ScrapeJob]:
    """Every endpoint of every rendered monitor, as a static job on the pods' network; a
    monitor that selects nothing yet (the serving namespace before a model) has no job."""
    return [_job(monitor, scraped, selected, manifests, secret)
            for monitor in manifests if monitor["kind"] in MONITOR_KINDS
            if (selected := _selected_objects(monitor, manifests))
            for scraped in _endpoints(monitor)]


def rule_groups(manifests: list[Manifest]) -> list[dict[str, Any]]:
    """The groups of every rendered PrometheusRule, as one rules file holds them."""
    return [group for manifest in manifests if manifest["kind"] == "PrometheusRule"
            for group in manifest["spec"]["groups"]]


def prometheus_config(jobs: Iterable[ScrapeJob], password_file: Callable[[ScrapeJob], str],
                      rule_files: list[str], interval: str) -> dict[str, Any]:
    """prometheus.yml: one scrape config per job; passwords are read from files."""
    return {"global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": rule_files,
            "scrape_configs": [_scrape_config(job, password_file) for job in jobs]}


def _scrape_config(job: ScrapeJob, password_file: Callable[[ScrapeJob], str]
                   ) -> dict[str, Any]:
    config: dict[str, Any] = {"job_name": job.job, "metrics_path": job.path,
                              "honor_labels": job.honor_labels,
                              "static_configs": [{"targets": list(job.targets)}]}
    if job.basic_auth:
        config["basic_auth"] = {"username": job.basic_auth.username,
                                "password_file": password_file(job)}
    return config


def _endpoints(monitor: Manifest) -> list[dict[str, Any]]:
    key = "endpoints" if monitor["kind"] == "ServiceMonitor" else "podMetricsEndpoints"
    return monitor["spec"][key]


def _job(monitor: Manifest, scraped: dict[str, Any], selected: list[Manifest],
         manifests: list[Manifest], secret: SecretReader) -> ScrapeJob:
    namespace = monitor["metadata"]["namespace"]
    targets = (_service_targets(selected, scraped["port"]) if monitor["kind"] == "ServiceMonitor"
               else _pod_targets(selected, scraped["port"], manifests))
    if not targets:
        raise ScrapeConfigError(
            f"{monitor['kind']} {namespace}/{monitor['metadata']['name']}: no object it selects "
            f"has a port named {scraped['port']!r}; name the port or fix the endpoint")
    return ScrapeJob(_job_label(monitor, scraped), tuple(targets),
                     scraped.get("path", METRICS_PATH), bool(scraped.get("honorLabels")),
                     _basic_auth(scraped, namespace, secret))


def _job_label(monitor: Manifest, scraped: dict[str, Any]) -> str:
    """The operator's default job (`<namespace>/<monitor>` for a PodMonitor, the Service's
    name for a ServiceMonitor) unless a relabelling replaces it, as the platform's do."""
    for relabel in scraped.get("relabelings", []):
        if relabel.get("targetLabel") == "job" and relabel.get("action", "replace") == "replace":
            return relabel["replacement"]
    return f"{monitor['metadata']['namespace']}/{monitor['metadata']['name']}"


def _selected(monitor: Manifest, labels: Mapping[str, str], namespace: str | None) -> bool:
    wanted = monitor["spec"]["selector"].get("matchLabels", {})
    namespaces = monitor["spec"].get("namespaceSelector", {}).get(
        "matchNames", [monitor["metadata"]["namespace"]])
    return namespace in namespaces and all(labels.get(k) == v for k, v in wanted.items())


def _selected_objects(monitor: Manifest, manifests: list[Manifest]) -> list[Manifest]:
    """The Services a ServiceMonitor selects, or the workloads whose pods a PodMonitor does."""
    if monitor["kind"] == "ServiceMonitor":
        return [service for service in manifests if service["kind"] == "Service"
                and _selected(monitor, service["metadata"].get("labels", {}),
                              service["metadata"].get("namespace"))]
    return [workload for workload in manifests
            if (template := _pod_template(workload)) is not None
            and _selected(monitor, template["metadata"].get("labels", {}),
                          workload["metadata"].get("namespace"))]


def _service_targets(services: list[Manifest], port_name: str) -> list[str]:
    return [f"{_dns_name(service)}:{port['port']}" for service in services
            for port in service["spec"].get("ports", []) if port.get("name") == port_name]


def _pod_targets(workloads: list[Manifest], port_name: str, manifests: list[Manifest]
                 ) -> list[str]:
    targets = []
    for workload in workloads:
        template = workload["spec"]["template"]
        service = _service_of(workload, template, manifests)
        targets += [f"{_dns_name(service)}:{port['containerPort']}"
                    for container in template["spec"]["containers"]
                    for port in container.get("ports", []) if port.get("name") == port_name]
    return targets


def _pod_template(workload: Manifest) -> dict[str, Any] | None:
    if workload["kind"] in ("Deployment", "StatefulSet"):
        return workload["spec"]["template"]
    return None


def selecting_services(manifests: list[Manifest], namespace: str | None,
                       pod_labels: Mapping[str, str]) -> list[Manifest]:
    """The Services of ``namespace`` whose selector matches pods labelled ``pod_labels``."""
    return [service for service in manifests if service["kind"] == "Service"
            and (selector := service["spec"].get("selector"))
            and service["metadata"].get("namespace") == namespace
            and all(pod_labels.get(key) == value for key, value in selector.items())]


def _service_of(workload: Manifest, template: dict[str, Any], manifests: list[Manifest]
                ) -> Manifest:
    services = selecting_services(manifests, workload["metadata"].get("namespace"),
                                  template["metadata"].get("labels", {}))
    if services:
        return services[0]
    raise ScrapeConfigError(
        f"{workload['kind']} {workload['metadata']['name']}: no Service selects its pods, so "
        "make pods has no name to scrape them by; add a Service for it")


def _dns_name(service: Manifest) -> str:
    return f"{service['metadata']['name']}.{service['metadata']['namespace']}.{CLUSTER_DOMAIN}"


def _basic_auth(scraped: dict[str, Any], namespace: str, secret: SecretReader
                ) -> BasicAuth | None:
    auth = scraped.get("basicAuth")
    if not auth:
        return None
    username, password = auth["username"], auth["password"]
    return BasicAuth(secret(namespace, username["name"])[username["key"]],
                     secret(namespace, password["name"])[password["key"]])


def scraper_manifests(manifests: list[Manifest], namespace: str, interval: str,
                      secret: SecretReader) -> list[Manifest]:
    """A Prometheus StatefulSet in ``namespace`` and the Secret holding its configuration
    (as prometheus-operator keeps it): every monitor's job and every PrometheusRule's group.
    A target that does not run yet (a model served later) is scraped once it answers."""
    jobs = scrape_jobs(manifests, secret)
    config = prometheus_config(jobs, lambda job: f"{CONFIG_DIR}/{job.job}.password",
                               [f"{CONFIG_DIR}/{RULES_KEY}"], interval)
    files = {"prometheus.yml": yaml.safe_dump(config, sort_keys=False),
             RULES_KEY: yaml.safe_dump({"groups": rule_groups(manifests)}, sort_keys=False),
             **{f"{job.job}.password": job.basic_auth.password for job in jobs if job.basic_auth}}
    metadata = {"namespace": namespace, "labels": PROMETHEUS.labels}
    return [{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {**metadata, "name": CONFIG_SECRET}, "stringData": files},
            {"apiVersion": "apps/v1", "kind": "StatefulSet",
             "metadata": {**metadata, "name": PROMETHEUS.name},
             "spec": {"serviceName": PROMETHEUS.name, "replicas": 1,
                      "selector": {"matchLabels": PROMETHEUS.labels},
                      "template": {"metadata": {"labels": PROMETHEUS.labels},
                                   "spec": _prometheus_pod()},
                      "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                          "accessModes": ["ReadWriteOnce"],
                          "resources": {"requests": {"storage": "1Gi"}}}}]}}]


def _prometheus_pod() -> dict[str, Any]:
    return {"securityContext": {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001},
            "containers": [{
                "name": PROMETHEUS.name, "image": PROMETHEUS_IMAGE,
                "args": [f"--config.file={CONFIG_DIR}/prometheus.yml",
                         "--storage.tsdb.path=/prometheus",
                         f"--web.listen-address=:{PROMETHEUS.port}"],
                "ports": [{"name": "http", "containerPort": PROMETHEUS.port}],
                "readinessProbe": {"httpGet": {"path": "/-/ready", "port": "http"},
                                   "periodSeconds": 2},
                "securityContext": HARDENED,
                "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                 {"name": "data", "mountPath": "/prometheus"}]}],
            "volumes": [{"name": "config", "secret": {"secretName": CONFIG_SECRET}}]}
