"""FeatureStore: Feast's online store in the platform namespace, its connection for serving."""

from __future__ import annotations

from typing import Any

from infra.feature_store import CONNECTION_KEYS, CONNECTION_SECRET
from mlops_platform.kubernetes.topology import FEATURE_STORE
from mlops_platform.local_cluster.mocked_engine import (
    MOCK_PASSWORD,
    SECRET_SIGNATURE,
    RecordedStack,
)
from tests.infra.k8s_objects import containers, named, pod_template
from tests.infra.test_governance import allowed_paths

PLATFORM, SERVING = "mlops-dev", "mlops-dev-serving"
ONLINE_STORE = f"{PLATFORM}/{FEATURE_STORE.name}"


def test_dev_runs_postgres_for_feast_with_its_own_volume_database_and_user(
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests["dev"]
    statefulset = named(manifests, "StatefulSet", FEATURE_STORE.name, PLATFORM)
    (container,) = containers(statefulset)
    metadata_database = next(containers(named(manifests, "StatefulSet", "postgres")))
    assert container["image"] == metadata_database["image"]  # the stack's database_image
    assert container["envFrom"] == [{"secretRef": {"name": "feast-online-store-credentials"}}]
    assert container["readinessProbe"]["exec"]["command"][:2] == ["pg_isready", "--host"]
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pod_template(statefulset)["spec"]["serviceAccountName"] == FEATURE_STORE.name
    account = named(manifests, "ServiceAccount", FEATURE_STORE.name, PLATFORM)
    assert account["automountServiceAccountToken"] is False
    service = named(manifests, "Service", FEATURE_STORE.name, PLATFORM)
    assert service["spec"]["ports"] == [{"name": "postgres", "port": 5432,
                                         "targetPort": "postgres"}]
    credentials = named(manifests, "Secret", "feast-online-store-credentials", PLATFORM)
    assert credentials["stringData"] == {"POSTGRES_USER": "feast", "POSTGRES_DB": "feast",
                                         "POSTGRES_PASSWORD": MOCK_PASSWORD}


def test_the_serving_namespace_gets_the_connection_under_the_documented_keys(
        repo_root: Any, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    secret = named(stack_manifests["dev"], "Secret", CONNECTION_SECRET, SERVING)
    assert secret["stringData"] == {
        "FEAST_ONLINE_HOST": f"{FEATURE_STORE.name}.{PLATFORM}.svc.cluster.local",
        "FEAST_ONLINE_PORT": "5432", "FEAST_ONLINE_DATABASE": "feast",
        "FEAST_ONLINE_USER": "feast", "FEAST_ONLINE_PASSWORD": MOCK_PASSWORD,
        "FEAST_ONLINE_SSLMODE": "disable"}
    assert set(secret["stringData"]) == set(CONNECTION_KEYS)
    documented = (repo_root / "docs" / "provision.md").read_text()
    assert all(f"${{{key}}}" in documented for key in CONNECTION_KEYS)


def test_the_password_is_generated_and_travels_only_as_a_secret(
        recorded_stacks: dict[str, RecordedStack],
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    resources = {resource.name: resource for resource in recorded_stacks["dev"].resources}
    password = resources["feature-store-password"]
    assert password.type_ == "random:index/randomPassword:RandomPassword"
    assert password.inputs["length"] == 32, password.urn
    assert "::mlops:feature_store:FeatureStore$" in password.urn, password.urn
    for name in ("feature-store-connection", "feature-store-credentials"):
        secret = resources[name]
        assert SECRET_SIGNATURE in secret.inputs["stringData"], secret.urn
    for manifest in stack_manifests["dev"]:
        if manifest["kind"] != "Secret":
            assert MOCK_PASSWORD not in str(manifest), manifest["metadata"]


def test_only_the_serving_pods_and_materialisation_jobs_reach_it_on_5432(
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests["dev"]
    reaching = {path for path in allowed_paths(manifests) if ONLINE_STORE in path[:2]}
    assert reaching == {(f"{SERVING}/mlserver", ONLINE_STORE, 5432),
                        (f"{SERVING}/feast-materialise", ONLINE_STORE, 5432)}
    policy = named(manifests, "NetworkPolicy", f"allow-{FEATURE_STORE.name}", PLATFORM)
    assert policy["spec"]["policyTypes"] == ["Ingress"]


def test_the_stack_exports_the_secrets_name_only_when_enabled(
        recorded_stacks: dict[str, RecordedStack],
        stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    assert recorded_stacks["dev"].outputs["feature_store_secret"] == CONNECTION_SECRET
    for stack in ("staging", "prod"):  # feature_store left at its default, none
        assert "feature_store_secret" not in recorded_stacks[stack].outputs
        # No object, no policy names it.
        assert "feast" not in str(stack_manifests[stack]), stack
