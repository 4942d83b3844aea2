"""Small Kubernetes objects for the pack's rule tests: hardened by default, one knob per flaw."""

from __future__ import annotations

import copy
from typing import Any

from policies.platform_pack.platform_rules import kubernetes as k8s
from policies.platform_pack.platform_rules.conventions import APPROVED_BY_ANNOTATION, MODEL_URI_ENV
from tests.policies.platform_pack_harness import Resource, resource

IMAGE = "seldonio/mlserver:1.6.1-mlflow"
DIGEST = "@sha256:" + "ab" * 32
LABELS = {"app.kubernetes.io/name": "mlserver", "app.kubernetes.io/instance": "model"}
PROBE = {"httpGet": {"path": "/v2/health/ready", "port": "http"}}
# The pod-level defaults every container inherits unless it overrides them.
POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def container(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "main", "image": IMAGE + DIGEST,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001.0,
                            "allowPrivilegeEscalation": False, "privileged": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                      "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": PROBE, "livenessProbe": PROBE,
        "env": [{"name": "HOME", "value": "/tmp"}],
    }
    return {**base, **fields}


def security(**settings: Any) -> dict[str, Any]:
    return {**container()["securityContext"], **settings}


def deployment(*containers: dict[str, Any], name: str = "model", namespace: str = "serving",
               replicas: float = 2.0, annotations: dict[str, str] | None = None,
               type_: str = k8s.DEPLOYMENT) -> Resource:
    spec = {"securityContext": copy.deepcopy(POD_SECURITY),
            "containers": list(containers) or [container()]}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": LABELS}
    if annotations:
        metadata["annotations"] = annotations
    return resource(type_, {"metadata": metadata, "spec": {
        "replicas": replicas, "selector": {"matchLabels": LABELS},
        "template": {"metadata": {"labels": LABELS}, "spec": spec}}}, name)


def model_server(uri: str = "models:/model@champion", *, approved_by: str | None = "alice",
                 replicas: float = 2.0) -> Resource:
    env = [{"name": MODEL_URI_ENV, "value": uri}]
    annotations = {APPROVED_BY_ANNOTATION: approved_by} if approved_by is not None else None
    return deployment(container(env=env), annotations=annotations, replicas=replicas)


def tracking_server(*, app_name: str | None = "basic-auth", replicas: float = 2.0) -> Resource:
    command = ["mlflow", "server", "--port", "5000"]
    if app_name:
        command += ["--app-name", app_name]
    return deployment(container(name="mlflow", command=command), name="mlflow",
                      namespace="platform", replicas=replicas)


def with_container(workload: Resource, **fields: Any) -> Resource:
    """The same workload with fields of its first container replaced."""
    props = copy.deepcopy(workload.props)
    first = props["spec"]["template"]["spec"]["containers"][0]
    first.update(fields)
    return Resource(workload.type_, workload.name, workload.urn, props)


def namespace(name: str = "serving", level: str | None = "restricted") -> Resource:
    labels = {"pod-security.kubernetes.io/enforce": level} if level else {}
    return resource(k8s.NAMESPACE, {"metadata": {"name": name, "labels": labels}}, name)


def network_policy(name: str, namespace_name: str = "serving", *,
                   deny_all: bool = True) -> Resource:
    spec: dict[str, Any] = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    if not deny_all:
        spec = {"podSelector": {"matchLabels": LABELS}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}]}]}
    return resource(k8s.NETWORK_POLICY, {"metadata": {"name": name, "namespace": namespace_name},
                                         "spec": spec}, name)


def pod_disruption_budget(labels: dict[str, str] | None = None) -> Resource:
    return resource(k8s.PDB, {"metadata": {"name": "model", "namespace": "serving"},
                              "spec": {"minAvailable": 1.0,
                                       "selector": {"matchLabels": labels or LABELS}}}, "pdb")


def ingress(*, tls_hosts: list[str] | None) -> Resource:
    spec: dict[str, Any] = {"rules": [{"host": "mlflow.example.com"}]}
    if tls_hosts is not None:
        spec["tls"] = [{"hosts": tls_hosts, "secretName": "mlflow-tls"}]
    return resource(k8s.INGRESS, {"metadata": {"name": "mlflow", "namespace": "platform"},
                                  "spec": spec}, "mlflow")


def service(service_type: str, namespace_name: str) -> Resource:
    return resource(k8s.SERVICE, {"metadata": {"name": "edge", "namespace": namespace_name},
                                  "spec": {"type": service_type}}, "edge")


def config_map(data: dict[str, str]) -> Resource:
    return resource(k8s.CONFIG_MAP, {"metadata": {"name": "settings", "namespace": "serving"},
                                     "data": data}, "settings")


def claim(storage_class: str | None) -> Resource:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return resource(k8s.PVC, {"metadata": {"name": "data", "namespace": "platform"},
                              "spec": spec}, "data")


def postgres() -> Resource:
    return deployment(container(name="postgres", image="postgres:16.4-alpine" + DIGEST),
                      name="postgres", namespace="platform", replicas=1.0,
                      type_=k8s.STATEFUL_SET)


def backup_job(command: str = "pg_dump --format custom") -> Resource:
    return resource(k8s.CRON_JOB, {
        "metadata": {"name": "postgres-backup", "namespace": "platform"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "containers": [container(name="dump", command=["sh", "-c", command])]}}}}}},
        "backup")


def with_pod(workload: Resource, **fields: Any) -> Resource:
    """The same workload with fields of its pod spec replaced."""
    props = copy.deepcopy(workload.props)
    props["spec"]["template"]["spec"].update(fields)
    return Resource(workload.type_, workload.name, workload.urn, props)


def retyped(workload: Resource, type_: str) -> Resource:
    """The same object declared through another type token (API version, patch)."""
    return Resource(type_, workload.name, workload.urn, copy.deepcopy(workload.props))


def bare_pod(*containers: dict[str, Any], namespace: str = "serving") -> Resource:
    return resource(k8s.POD, {"metadata": {"name": "model", "namespace": namespace},
                              "spec": {"securityContext": copy.deepcopy(POD_SECURITY),
                                       "containers": list(containers) or [container()]}},
                    "model")


def autoscaler(target: str, namespace_name: str, min_replicas: float | None) -> Resource:
    spec: dict[str, Any] = {"maxReplicas": 6.0, "scaleTargetRef": {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": target}}
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    return resource(k8s.HPA, {"metadata": {"name": target, "namespace": namespace_name},
                              "spec": spec}, f"{target}-hpa")


def raw_network_policy(name: str, spec: dict[str, Any],
                       namespace_name: str = "serving") -> Resource:
    return resource(k8s.NETWORK_POLICY, {"metadata": {"name": name, "namespace": namespace_name},
                                         "spec": spec}, name)


# --- what a scraper sees: metrics ports, scrape annotations, the operator's objects ---------

METRICS_PORT = {"name": "metrics", "containerPort": 8082.0}


def scraped_model_server(*, port: str = "8082", scrape: str = "true") -> Resource:
    """A model server with a metrics port its pods mark for an annotation-driven Prometheus."""
    server = with_container(model_server(), ports=[METRICS_PORT])
    props = copy.deepcopy(server.props)
    props["spec"]["template"]["metadata"]["annotations"] = {
        "prometheus.io/scrape": scrape, "prometheus.io/port": port}
    return Resource(server.type_, server.name, server.urn, props)


def model_server_with_metrics_port() -> Resource:
    return with_container(model_server(), ports=[METRICS_PORT])


def operator_object(kind: str, spec: dict[str, Any], namespace_name: str = "serving",
                    name: str = "mlserver") -> Resource:
    return resource(f"kubernetes:monitoring.coreos.com/v1:{kind}",
                    {"apiVersion": "monitoring.coreos.com/v1", "kind": kind,
                     "metadata": {"name": name, "namespace": namespace_name}, "spec": spec},
                    f"{kind.lower()}-{name}")


def pod_monitor(port: str = "metrics", labels: dict[str, str] | None = None) -> Resource:
    return operator_object("PodMonitor", {
        "selector": {"matchLabels": labels or {"app.kubernetes.io/name": "mlserver"}},
        "namespaceSelector": {"matchNames": ["serving"]},
        "podMetricsEndpoints": [{"port": port, "path": "/metrics"}]})


def service_monitor(port: str = "metrics") -> Resource:
    return operator_object("ServiceMonitor", {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "mlserver"}},
        "endpoints": [{"port": port}]})


def metrics_service(target_port: Any = "metrics") -> Resource:
    return resource(k8s.SERVICE, {
        "metadata": {"name": "model", "namespace": "serving",
                     "labels": {"app.kubernetes.io/name": "mlserver"}},
        "spec": {"selector": LABELS, "ports": [
            {"name": "metrics", "port": 8082.0, "targetPort": target_port}]}}, "model-svc")


def prometheus_rule(*, alert: bool = True) -> Resource:
    rule = ({"alert": "ServingErrors", "expr": 'rate(x{job="mlserver"}[5m]) > 0'} if alert
            else {"record": "job:x:rate5m", "expr": "rate(x[5m])"})
    return operator_object("PrometheusRule", {"groups": [{"name": "serving", "rules": [rule]}]},
                           name="alerts")


# --- kinds the pack does not know, RBAC, annotations ----------------------------------------

ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"


def rollout(*containers: dict[str, Any], **pod_fields: Any) -> Resource:
    """An Argo Rollout: a Deployment's pod template under a kind the pack has no entry for."""
    props = copy.deepcopy(deployment(*containers).props)
    props["spec"]["template"]["spec"].update(pod_fields)
    return resource(ROLLOUT, {**props, "metadata": {"name": "model", "namespace": "serving"}},
                    "model")


def custom_object(type_: str, spec: dict[str, Any], name: str = "model") -> Resource:
    return resource(type_, {"metadata": {"name": name, "namespace": "serving"}, "spec": spec},
                    name)


def binding(role: str, *, cluster_wide: bool = True) -> Resource:
    kind = "ClusterRoleBinding" if cluster_wide else "RoleBinding"
    metadata: dict[str, Any] = {"name": "ops"} if cluster_wide else {"name": "ops",
                                                                      "namespace": "serving"}
    return resource(f"kubernetes:rbac.authorization.k8s.io/v1:{kind}", {
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "ops", "namespace": "serving"}]}, "ops")


def cluster_role(*rules: dict[str, Any]) -> Resource:
    return resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
                    {"metadata": {"name": "ops"}, "rules": list(rules)}, "ops")


def annotated(item: Resource, annotations: dict[str, str], *, on_pods: bool = False) -> Resource:
    """The same object with annotations added to its own metadata (or its pod template's)."""
    props = copy.deepcopy(item.props)
    metadata = props["spec"]["template"]["metadata"] if on_pods else props["metadata"]
    metadata["annotations"] = {**metadata.get("annotations", {}), **annotations}
    return Resource(item.type_, item.name, item.urn, props)


def probed_with_headers(*headers: dict[str, str], path: str = "/v2/health/ready") -> Resource:
    probe = {"httpGet": {"path": path, "port": "http", "httpHeaders": list(headers)}}
    return with_container(deployment(), readinessProbe=probe)
