"""make pods' Prometheus scrapes what the rendered ServiceMonitors and PodMonitors select."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_platform.local_cluster.pods_prometheus import (
    BasicAuth,
    ScrapeConfigError,
    ScrapeJob,
    prometheus_config,
    rule_groups,
    scrape_jobs,
)

LABELS = {"app.kubernetes.io/name": "mlserver"}


def service(name: str, namespace: str, ports: list[dict[str, Any]],
            labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"kind": "Service", "metadata": {"name": name, "namespace": namespace,
                                            "labels": labels or LABELS},
            "spec": {"selector": LABELS, "ports": ports}}


def deployment(namespace: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {"name": "churn", "namespace": namespace},
            "spec": {"template": {"metadata": {"labels": {**LABELS, "extra": "x"}},
                                  "spec": {"containers": [
                                      {"name": "mlserver", "ports": ports[:1]},
                                      {"name": "shipper", "ports": ports[1:]}]}}}}


def monitor(kind: str, namespace: str, endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    key = "endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints"
    return {"kind": kind, "metadata": {"name": "mlserver", "namespace": "mlops-dev"},
            "spec": {"selector": {"matchLabels": LABELS},
                     "namespaceSelector": {"matchNames": [namespace]}, key: endpoints}}


def relabelled(port: str, job: str, **extra: Any) -> dict[str, Any]:
    return {"port": port, "path": "/metrics", **extra,
            "relabelings": [{"action": "replace", "targetLabel": "job", "replacement": job}]}


def no_secrets(namespace: str, name: str) -> dict[str, str]:
    raise AssertionError(f"no Secret should be read, got {namespace}/{name}")


def test_a_pod_monitor_scrapes_each_named_port_through_the_pods_service_name() -> None:
    manifests = [
        deployment("serve", [{"name": "metrics", "containerPort": 8082},
                             {"name": "shipper-metrics", "containerPort": 9102}]),
        service("churn", "serve", [{"name": "http", "port": 8080}]),
        monitor("PodMonitor", "serve", [relabelled("metrics", "mlserver"),
                                        relabelled("shipper-metrics", "log-shipper")])]
    assert scrape_jobs(manifests, no_secrets) == [
        ScrapeJob("mlserver", ("churn.serve.svc.cluster.local:8082",)),
        ScrapeJob("log-shipper", ("churn.serve.svc.cluster.local:9102",))]


def test_a_service_monitor_keeps_honor_labels_and_reads_basic_auth_from_its_secret() -> None:
    secrets = {("mlops-dev", "reader"): {"USER": "reader", "PASSWORD": "s3cret"}}
    manifests = [
        service("pushgateway", "mlops-dev", [{"name": "http", "port": 9091}]),
        monitor("ServiceMonitor", "mlops-dev", [relabelled(
            "http", "pushgateway", honorLabels=True,
            basicAuth={"username": {"name": "reader", "key": "USER"},
                       "password": {"name": "reader", "key": "PASSWORD"}})])]
    [job] = scrape_jobs(manifests, lambda namespace, name: secrets[namespace, name])
    assert job == ScrapeJob("pushgateway", ("pushgateway.mlops-dev.svc.cluster.local:9091",),
                            honor_labels=True, basic_auth=BasicAuth("reader", "s3cret"))


def test_without_a_relabelling_the_job_is_the_operators_default() -> None:
    manifests = [service("mlflow", "mlops-dev", [{"name": "metrics", "port": 9103}]),
                 monitor("ServiceMonitor", "mlops-dev", [{"port": "metrics"}])]
    [job] = scrape_jobs(manifests, no_secrets)
    assert job.job == "mlops-dev/mlserver"


@pytest.mark.parametrize("kind", ["ServiceMonitor", "PodMonitor"])
def test_a_monitor_that_reaches_no_port_is_an_error_naming_it(kind: str) -> None:
    manifests = [deployment("serve", [{"name": "metrics", "containerPort": 8082}]),
                 service("churn", "serve", [{"name": "http", "port": 8080}]),
                 monitor(kind, "serve", [relabelled("metrics-typo", "mlserver")])]
    with pytest.raises(ScrapeConfigError, match=f"{kind} mlops-dev/mlserver: .*'metrics-typo'"):
        scrape_jobs(manifests, no_secrets)


def test_the_config_lists_jobs_rule_files_and_never_a_password() -> None:
    jobs = [ScrapeJob("mlflow-tracking", ("mlflow.mlops-dev.svc.cluster.local:9103",),
                      basic_auth=BasicAuth("reader", "s3cret"))]
    config = prometheus_config(jobs, lambda job: f"/etc/prometheus/{job.job}.password",
                               ["/etc/prometheus/rules.yml"], "2s")
    assert config["rule_files"] == ["/etc/prometheus/rules.yml"]
    assert config["global"] == {"scrape_interval": "2s", "evaluation_interval": "2s"}
    assert config["scrape_configs"] == [{
        "job_name": "mlflow-tracking", "metrics_path": "/metrics", "honor_labels": False,
        "static_configs": [{"targets": ["mlflow.mlops-dev.svc.cluster.local:9103"]}],
        "basic_auth": {"username": "reader",
                       "password_file": "/etc/prometheus/mlflow-tracking.password"}}]
    assert "s3cret" not in repr(config)


def test_rule_groups_come_from_every_rendered_prometheus_rule() -> None:
    rule = {"kind": "PrometheusRule", "metadata": {"name": "r", "namespace": "mlops-dev"},
            "spec": {"groups": [{"name": "a", "rules": []}, {"name": "b", "rules": []}]}}
    assert [group["name"] for group in rule_groups([rule, service("s", "n", [])])] == ["a", "b"]


def test_a_monitor_that_selects_nothing_yet_has_no_job() -> None:
    """The serving namespace's PodMonitor before any model is served, as in a cluster."""
    manifests = [monitor("PodMonitor", "serve", [relabelled("metrics", "mlserver")])]
    assert scrape_jobs(manifests, no_secrets) == []
