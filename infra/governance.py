"""Guard rails of the platform's namespaces.

Pod Security `restricted` labels, a ResourceQuota and a LimitRange per namespace,
a default-deny NetworkPolicy per namespace plus exactly the allows of
`mlops_platform.kubernetes.topology.platform_paths` (and DNS; the monitoring namespace's
Prometheus to the metrics ports), and the CD identity: a ServiceAccount
whose Role manages serving objects in the serving namespace and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.config import NamespaceQuota
from mlops_platform.kubernetes.security import tokenless_service_account
from mlops_platform.kubernetes.topology import (
    Destination,
    ExternalService,
    IngressController,
    Part,
    Path,
    Scraper,
    Source,
)

NAMESPACE_LABEL = "kubernetes.io/metadata.name"
CD_SERVICE_ACCOUNT = "mlops-cd"
DNS_PEER = {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
# What a project's deploy program manages (ModelServing, its models' drift CronJobs), and
# what it must read to wait for a rollout. No secrets, no RBAC, no other namespace.
CD_RULES = [
    {"apiGroups": ["batch"], "resources": ["cronjobs"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["apps"], "resources": ["deployments"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["services"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]},
]


@dataclass
class GovernanceArgs:
    platform_namespace: str
    serving_namespace: str
    paths: list[Path]
    quota: NamespaceQuota
    environment: str


class Governance(pulumi.ComponentResource):
    """Namespaces, quotas, limit ranges, network policies and the CD identity."""

    def __init__(self, name: str, args: GovernanceArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:governance:Governance", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespaces = {"platform": args.platform_namespace, "serving": args.serving_namespace}
        self.namespaces = [self._namespace(name, role, namespace, args, child)
                           for role, namespace in namespaces.items()]
        after_namespaces = pulumi.ResourceOptions(parent=self, depends_on=self.namespaces)
        for role, namespace in namespaces.items():
            for policy_name, spec in network_policies(role, namespaces, args.paths).items():
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{role}-{policy_name}",
                    metadata={"name": policy_name, "namespace": namespace}, spec=spec,
                    opts=after_namespaces)
        self._cd_identity(name, args.serving_namespace, after_namespaces)
        self.register_outputs({"namespaces": list(namespaces.values()),
                               "cd_service_account": CD_SERVICE_ACCOUNT})

    def _namespace(self, name: str, role: str, namespace: str, args: GovernanceArgs,
                   child: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
        labels = {f"pod-security.kubernetes.io/{mode}": "restricted"
                  for mode in ("enforce", "audit", "warn")}
        labels |= {"app.kubernetes.io/part-of": "mlops-platform",
                   "mlops.platform/environment": args.environment}
        created = k8s.core.v1.Namespace(f"{name}-{role}",
                                        metadata={"name": namespace, "labels": labels},
                                        opts=child)
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[created])
        quota = args.quota
        k8s.core.v1.ResourceQuota(
            f"{name}-{role}-quota", metadata={"name": "quota", "namespace": namespace},
            spec={"hard": {"requests.cpu": quota.requests_cpu,
                           "requests.memory": quota.requests_memory,
                           "limits.cpu": quota.limits_cpu, "limits.memory": quota.limits_memory,
                           "pods": str(quota.pods)}},
            opts=in_namespace)
        k8s.core.v1.LimitRange(
            f"{name}-{role}-limits", metadata={"name": "limits", "namespace": namespace},
            spec={"limits": [{"type": "Container",
                              "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                              "default": {"cpu": "500m", "memory": "512Mi"},
                              "max": {"cpu": quota.limits_cpu,
                                      "memory": quota.limits_memory}}]},
            opts=in_namespace)
        return created

    def _cd_identity(self, name: str, namespace: str, opts: pulumi.ResourceOptions) -> None:
        metadata = {"name": CD_SERVICE_ACCOUNT, "namespace": namespace}
        account = tokenless_service_account(f"{name}-cd", CD_SERVICE_ACCOUNT, namespace, opts)
        role = k8s.rbac.v1.Role(f"{name}-cd", metadata=metadata, rules=CD_RULES, opts=opts)
        k8s.rbac.v1.RoleBinding(
            f"{name}-cd", metadata=metadata,
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                      "name": role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": account.metadata.name,
                       "namespace": namespace}],
            opts=opts)


def network_policies(role: str, namespaces: dict[str, str],
                     paths: list[Path]) -> dict[str, dict[str, Any]]:
    """The NetworkPolicy specs of one namespace, by name: deny all, DNS, one per part."""
    policies: dict[str, dict[str, Any]] = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [DNS_PEER], "ports": [{"protocol": "UDP", "port": 53},
                                        {"protocol": "TCP", "port": 53}]}]},
    }
    parts = {end for path in paths for end in (path.source, path.destination)
             if isinstance(end, Part) and end.namespace_role == role}
    for part in sorted(parts, key=lambda p: p.name):
        ingress = [_rule("from", path.source, path.port, namespaces)
                   for path in paths if path.destination == part]
        egress = [_rule("to", path.destination, path.port, namespaces)
                  for path in paths if path.source == part]
        spec: dict[str, Any] = {"podSelector": {"matchLabels": part.labels}, "policyTypes": []}
        if ingress:
            spec["policyTypes"].append("Ingress")
            spec["ingress"] = ingress
        if egress:
            spec["policyTypes"].append("Egress")
            spec["egress"] = egress
        policies[f"allow-{part.name}"] = spec
    return policies


def _rule(direction: str, peer: Source | Destination, port: int,
          namespaces: dict[str, str]) -> dict[str, Any]:
    return {direction: [_peer(peer, namespaces)], "ports": [{"protocol": "TCP", "port": port}]}


def _peer(peer: Source | Destination, namespaces: dict[str, str]) -> dict[str, Any]:
    if isinstance(peer, IngressController):
        return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: peer.namespace}}}
    if isinstance(peer, Scraper):
        return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: peer.namespace}},
                "podSelector": {"matchLabels": peer.labels}}
    if isinstance(peer, ExternalService):
        return {"ipBlock": {"cidr": "0.0.0.0/0"}}
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL:
                                                  namespaces[peer.namespace_role]}},
            "podSelector": {"matchLabels": peer.labels}}
