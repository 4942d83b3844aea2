"""Governance: Pod Security, quotas, exactly the allowed network paths, a least-privilege CD."""

from __future__ import annotations

from typing import Any

import pytest

from infra.governance import CD_SERVICE_ACCOUNT
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import run_stack
from tests.infra.k8s_objects import named, of_kind

PSS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


def allowed_paths(manifests: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    """(source, destination, port) for every allow rule, both directions, read from the YAML.

    A peer is named `<namespace>/<app name>`, `<namespace>/*` for a whole namespace
    and `external` for an IP block; DNS rules are checked separately.
    """
    paths: set[tuple[str, str, int]] = set()
    for policy in of_kind(manifests, "NetworkPolicy"):
        namespace = policy["metadata"]["namespace"]
        selected = policy["spec"]["podSelector"].get("matchLabels", {})
        if not selected:
            continue
        me = f"{namespace}/{selected['app.kubernetes.io/name']}"
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                for port in rule["ports"]:
                    paths.add((_peer(peer), me, port["port"]))
        for rule in policy["spec"].get("egress", []):
            for peer in rule["to"]:
                for port in rule["ports"]:
                    paths.add((me, _peer(peer), port["port"]))
    return paths


def _peer(peer: dict[str, Any]) -> str:
    if "ipBlock" in peer:
        return "external"
    namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
    pods = peer.get("podSelector", {}).get("matchLabels", {})
    return f"{namespace}/{pods.get('app.kubernetes.io/name', '*')}"


def expected_paths(stack: str) -> set[tuple[str, str, int]]:
    platform, serving = f"mlops-{stack}", f"mlops-{stack}-serving"
    edges = {
        ("ingress-nginx/*", f"{platform}/mlflow", 5000),
        ("ingress-nginx/*", f"{serving}/mlserver", 8080),
        (f"{platform}/mlflow", f"{platform}/postgres", 5432),
        (f"{platform}/mlflow-db-upgrade", f"{platform}/postgres", 5432),
        (f"{platform}/create-registry-reader", f"{platform}/mlflow", 5000),
        (f"{platform}/mlflow", f"{platform}/object-store", 8333),
        (f"{serving}/mlserver", f"{platform}/mlflow", 5000),
        (f"{serving}/mlserver", f"{platform}/object-store", 8333),
        # The served models' batch scoring: the registry and the store, as the pods.
        (f"{serving}/batch-scoring", f"{platform}/mlflow", 5000),
        (f"{serving}/batch-scoring", f"{platform}/object-store", 8333),
        (f"{platform}/postgres-backup", f"{platform}/postgres", 5432),
        (f"{platform}/postgres-backup", f"{platform}/object-store", 8333),
        (f"{platform}/create-bucket", f"{platform}/object-store", 8333),
        (f"{platform}/drift-monitor", f"{platform}/object-store", 8333),
        (f"{platform}/drift-monitor", f"{platform}/pushgateway", 9091),
        # The drift checks of projects' models, beside them in the serving namespace.
        (f"{serving}/serving-drift-monitor", f"{platform}/object-store", 8333),
        (f"{serving}/serving-drift-monitor", f"{platform}/pushgateway", 9091),
        (f"{platform}/postgres-backup", f"{platform}/pushgateway", 9091),
        *scraped_paths(platform, serving),
    }
    if stack == "dev":  # the committed stack with Feast's online store
        edges |= feature_store_paths(platform, serving)
    return edges


def feature_store_paths(platform: str, serving: str) -> set[tuple[str, str, int]]:
    """Feast's online store: the serving pods (its feature server) and the materialisation
    jobs reach it, and nothing else; the jobs also read the offline data in the store."""
    online = f"{platform}/feast-online-store"
    return {(f"{serving}/mlserver", online, 5432),
            (f"{serving}/feast-materialise", online, 5432),
            (f"{serving}/feast-materialise", f"{platform}/object-store", 8333)}


def scraped_paths(platform: str, serving: str,
                  monitoring: str = "monitoring") -> set[tuple[str, str, int]]:
    """Prometheus to the metrics ports: MLflow's, MLServer's, the shipper's, the
    Pushgateway's; never an API or inference port."""
    scraper = f"{monitoring}/prometheus"
    return {(scraper, f"{platform}/mlflow", 9103), (scraper, f"{serving}/mlserver", 8082),
            (scraper, f"{serving}/mlserver", 9102), (scraper, f"{platform}/pushgateway", 9091)}


def test_the_network_policies_allow_exactly_the_listed_paths(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    assert allowed_paths(stack_manifests[stack]) == expected_paths(stack)


def test_every_namespace_denies_by_default_and_allows_only_dns_to_all(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    for namespace in (f"mlops-{stack}", f"mlops-{stack}-serving"):
        deny = named(manifests, "NetworkPolicy", "default-deny", namespace)["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        dns = named(manifests, "NetworkPolicy", "allow-dns", namespace)["spec"]
        assert dns["policyTypes"] == ["Egress"] and "ingress" not in dns
        (rule,) = dns["egress"]
        assert {p["port"] for p in rule["ports"]} == {53}
        assert rule["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
        broad = [p for p in of_kind(manifests, "NetworkPolicy")
                 if p["metadata"]["namespace"] == namespace and not p["spec"]["podSelector"]]
        assert sorted(p["metadata"]["name"] for p in broad) == ["allow-dns", "default-deny"]


def test_external_database_and_store_are_reached_by_egress_only() -> None:
    manifests = to_manifests(run_stack("dev", {
        "feature_store": "none", "database_mode": "external",
        "database_url": "postgresql://u:p@db.example.com:6432/mlflow",
        "artifact_store_mode": "external", "s3_access_key_id": "id",
        "s3_secret_access_key": "key"}).resources)
    paths = allowed_paths(manifests)
    assert paths == {
        ("ingress-nginx/*", "mlops-dev/mlflow", 5000),
        ("ingress-nginx/*", "mlops-dev-serving/mlserver", 8080),
        ("mlops-dev/mlflow", "external", 6432),
        ("mlops-dev/mlflow-db-upgrade", "external", 6432),
        ("mlops-dev/create-registry-reader", "mlops-dev/mlflow", 5000),
        ("mlops-dev/mlflow", "external", 443),
        ("mlops-dev-serving/mlserver", "mlops-dev/mlflow", 5000),
        ("mlops-dev-serving/mlserver", "external", 443),
        ("mlops-dev-serving/batch-scoring", "mlops-dev/mlflow", 5000),
        ("mlops-dev-serving/batch-scoring", "external", 443),
        ("mlops-dev/drift-monitor", "external", 443),
        ("mlops-dev/drift-monitor", "mlops-dev/pushgateway", 9091),
        ("mlops-dev-serving/serving-drift-monitor", "external", 443),
        ("mlops-dev-serving/serving-drift-monitor", "mlops-dev/pushgateway", 9091),
        *scraped_paths("mlops-dev", "mlops-dev-serving"),
    }


def test_only_the_monitoring_namespaces_prometheus_reaches_the_metrics_ports() -> None:
    manifests = to_manifests(run_stack("dev", {"monitoring_namespace": "observability"}
                                       ).resources)
    paths = allowed_paths(manifests)
    scraped = {path for path in paths if path[0].endswith("/prometheus")}
    assert scraped == scraped_paths("mlops-dev", "mlops-dev-serving", "observability")
    # Not the API or inference ports, nor any other source on the metrics ports.
    assert not {path for path in scraped if path[2] in (5000, 8080, 8081)}
    assert {path[0] for path in paths if path[2] in (9103, 8082, 9102, 9091)} == {
        "observability/prometheus", "mlops-dev/drift-monitor", "mlops-dev/postgres-backup",
        "mlops-dev-serving/serving-drift-monitor"}


def test_namespaces_enforce_the_restricted_pod_security_level(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    namespaces = of_kind(stack_manifests[stack], "Namespace")
    assert sorted(n["metadata"]["name"] for n in namespaces) == [
        f"mlops-{stack}", f"mlops-{stack}-serving"]
    for namespace in namespaces:
        assert PSS.items() <= namespace["metadata"]["labels"].items()


def test_each_namespace_has_a_quota_and_a_limit_range(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    for namespace in (f"mlops-{stack}", f"mlops-{stack}-serving"):
        hard = named(manifests, "ResourceQuota", "quota", namespace)["spec"]["hard"]
        assert set(hard) == {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory",
                             "pods"}
        (limit,) = named(manifests, "LimitRange", "limits", namespace)["spec"]["limits"]
        assert limit["type"] == "Container" and limit["default"] and limit["defaultRequest"]
    prod_pods = named(stack_manifests["prod"], "ResourceQuota", "quota", "mlops-prod")
    assert prod_pods["spec"]["hard"]["pods"] == "100"


@pytest.fixture
def cd_rules(stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> list[dict]:
    manifests = stack_manifests[stack]
    assert not of_kind(manifests, "ClusterRole") and not of_kind(manifests, "ClusterRoleBinding")
    (role,) = of_kind(manifests, "Role")
    assert role["metadata"]["namespace"] == f"mlops-{stack}-serving"
    (binding,) = of_kind(manifests, "RoleBinding")
    assert binding["metadata"]["namespace"] == role["metadata"]["namespace"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": CD_SERVICE_ACCOUNT,
                                    "namespace": role["metadata"]["namespace"]}]
    return role["rules"]


def test_the_cd_identity_manages_serving_objects_and_nothing_else(
        cd_rules: list[dict]) -> None:
    writable = {(group, resource) for rule in cd_rules if "create" in rule["verbs"]
                for group in rule["apiGroups"] for resource in rule["resources"]}
    assert writable == {("apps", "deployments"), ("", "services"),
                        ("autoscaling", "horizontalpodautoscalers"),
                        ("policy", "poddisruptionbudgets"), ("batch", "cronjobs")}
    readable = {resource for rule in cd_rules for resource in rule["resources"]}
    assert not readable & {"secrets", "roles", "rolebindings", "namespaces", "*"}
    assert all("*" not in rule["verbs"] and "*" not in rule["apiGroups"] for rule in cd_rules)


def test_the_cd_role_covers_every_kind_a_project_deployment_creates(
        cd_rules: list[dict]) -> None:
    from mlops_platform.deploy.manifest import DeploymentManifest
    from mlops_platform.deploy.program import deploy_manifest
    from mlops_platform.local_cluster.mocked_engine import run_program
    from tests.deploy.test_project_deployment import PLATFORM_OUTPUTS, WATCHED_MODEL

    manifest = DeploymentManifest(environment="dev", platform_stack="acme/mlops-platform/dev",
                                  models=[{**WATCHED_MODEL, "replicas": 2}])
    created = run_program(lambda: deploy_manifest(manifest),
                          stack_references={manifest.platform_stack: PLATFORM_OUTPUTS}).resources
    writable = {(group, resource) for rule in cd_rules if "create" in rule["verbs"]
                for group in rule["apiGroups"] for resource in rule["resources"]}
    kinds = {(r.inputs["apiVersion"].rpartition("/")[0], r.inputs["kind"].lower() + "s")
             for r in created if r.type_.startswith("kubernetes:")}
    assert kinds == {("apps", "deployments"), ("", "services"),
                     ("autoscaling", "horizontalpodautoscalers"),
                     ("policy", "poddisruptionbudgets"), ("batch", "cronjobs")}
    assert kinds <= writable
