"""The whole program per committed stack: outputs, parenting, and rules every object obeys."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.config import PROJECT
from infra.images import parse_image
from mlops_platform.contract import OUTPUT_KEYS, PlatformOutputs
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import (
    RecordedStack,
    SecretValue,
    run_program,
    run_stack,
    stack_settings,
)
from tests.infra.k8s_objects import WORKLOAD_KINDS, containers, of_kind, pod_template, selects
from tests.infra.stacks import with_a_model

COMPONENT_TYPES = {
    "mlops:governance:Governance", "mlops:metadata_database:MetadataDatabase",
    "mlops:artifact_store:ArtifactStore", "mlops:tracking_server:TrackingServer",
    "mlops:model_serving:ModelServing", "mlops:monitoring:Monitoring",
    "mlops:pushgateway:Pushgateway", "mlops:scraping:Scraping",
    "mlops:observability:Observability",
}
# Components a stack setting enables: the setting and the value that does.
OPTIONAL_COMPONENT_TYPES = {"mlops:feature_store:FeatureStore": ("feature_store", "postgres")}


def component_types(stack: str) -> set[str]:
    """The components the committed stack creates: every one, and the optional it enables."""
    settings = stack_settings(stack)
    return COMPONENT_TYPES | {type_ for type_, (key, value) in OPTIONAL_COMPONENT_TYPES.items()
                              if settings.get(key) == value}


def test_the_outputs_are_the_contract_and_credentials_are_secret(
        stack: str, recorded_stacks: dict[str, RecordedStack]) -> None:
    outputs = recorded_stacks[stack].outputs
    contract = PlatformOutputs(**{key: outputs[key] for key in OUTPUT_KEYS})
    assert contract.environment == stack
    assert contract.namespace == f"mlops-{stack}-serving"
    assert contract.registry_uri == contract.tracking_uri
    assert contract.artifact_store_uri == "s3://mlflow"
    assert contract.serving_endpoint == ""  # no model until a project declares one
    expected_uri = {"dev": "http://mlflow.mlops-dev.svc.cluster.local:5000",
                    "staging": "https://mlflow.staging.example.com",
                    "prod": "https://mlflow.example.com"}[stack]
    assert contract.tracking_uri == expected_uri
    assert isinstance(outputs["tracking_password"], SecretValue)
    assert isinstance(outputs["tracking_username"], SecretValue)
    assert isinstance(outputs["gate_password"], SecretValue)
    assert outputs["gate_username"] == "promotion-gate"
    assert not any(isinstance(outputs[key], SecretValue) for key in OUTPUT_KEYS)


def test_the_serving_endpoint_is_the_first_declared_models() -> None:
    outputs = run_stack("staging", with_a_model("staging")).outputs
    assert outputs["serving_endpoint"] == \
        "http://demo-classifier.mlops-staging-serving.svc.cluster.local:8080"


def test_one_component_of_each_kind_and_every_object_is_a_child_of_one(
        stack: str, recorded_stacks: dict[str, RecordedStack]) -> None:
    resources = recorded_stacks[stack].resources
    components = [r for r in resources if r.type_.startswith("mlops:")]
    assert sorted(r.type_ for r in components) == sorted(component_types(stack))
    for resource in resources:
        if not resource.type_.startswith("mlops:"):
            parent_types = resource.urn.split("::")[2].split("$")[:-1]
            assert any(t in component_types(stack) for t in parent_types), resource.urn


def test_selectors_match_the_pod_labels_of_their_workload(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    for workload in [*of_kind(manifests, "Deployment"), *of_kind(manifests, "StatefulSet")]:
        labels = pod_template(workload)["metadata"]["labels"]
        assert selects(workload["spec"]["selector"]["matchLabels"], labels), workload["metadata"]


def test_every_service_selects_pods_that_serve_its_target_ports(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    workloads = [*of_kind(manifests, "Deployment"), *of_kind(manifests, "StatefulSet")]
    for service in of_kind(manifests, "Service"):
        namespace = service["metadata"]["namespace"]
        backends = [w for w in workloads if w["metadata"]["namespace"] == namespace and
                    selects(service["spec"]["selector"], pod_template(w)["metadata"]["labels"])]
        assert len(backends) == 1, service["metadata"]
        ports = {port["name"]: port["containerPort"]
                 for container in containers(backends[0]) for port in container["ports"]}
        for port in service["spec"]["ports"]:
            assert ports[port["targetPort"]] == port["port"], service["metadata"]


def test_every_workload_has_a_service_account_that_exists(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    accounts = {(m["metadata"]["namespace"], m["metadata"]["name"])
                for m in of_kind(manifests, "ServiceAccount")}
    for kind in WORKLOAD_KINDS:
        for workload in of_kind(manifests, kind):
            spec = pod_template(workload)["spec"]
            assert (workload["metadata"]["namespace"], spec["serviceAccountName"]) in accounts
            assert spec["automountServiceAccountToken"] is False


def test_every_container_is_hardened_pinned_and_bounded(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    count = 0
    for kind in WORKLOAD_KINDS:
        for workload in of_kind(manifests, kind):
            pod = pod_template(workload)["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            for container in containers(workload):
                count += 1
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False
                assert context["runAsNonRoot"] is True and context["runAsUser"] >= 10000
                assert context["readOnlyRootFilesystem"] is True
                assert context["capabilities"] == {"drop": ["ALL"]}
                assert set(container["resources"]) == {"requests", "limits"}
                assert set(container["resources"]["limits"]) == {"cpu", "memory"}
                image = parse_image(container["image"])
                assert image.tag != "latest"
                assert (image.digest is not None) == (stack == "prod"), container["image"]
    assert count >= 8


def test_the_stack_exports_the_contract_and_the_extras_and_nothing_else(
        stack: str, recorded_stacks: dict[str, RecordedStack]) -> None:
    from infra.program import EXTRA_OUTPUT_KEYS, OPTIONAL_OUTPUT_KEYS

    outputs = recorded_stacks[stack].outputs
    enabled = ({"feature_store_secret"} if stack_settings(stack).get("feature_store") == "postgres"
               else set())
    assert set(OPTIONAL_OUTPUT_KEYS) == {"feature_store_secret"}
    assert set(outputs) == set(OUTPUT_KEYS) | set(EXTRA_OUTPUT_KEYS) | enabled
    assert outputs["tracking_internal_uri"] == \
        f"http://mlflow.mlops-{stack}.svc.cluster.local:5000"


def test_replicated_workloads_spread_over_nodes_and_single_ones_do_not(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    for deployment in of_kind(stack_manifests[stack], "Deployment"):
        spec = pod_template(deployment)["spec"]
        constraints = spec.get("topologySpreadConstraints", [])
        assert bool(constraints) == (deployment["spec"]["replicas"] > 1), deployment["metadata"]
        for constraint in constraints:
            assert constraint["labelSelector"]["matchLabels"] == \
                deployment["spec"]["selector"]["matchLabels"]


def test_every_secret_a_pod_reads_exists_in_its_namespace_with_that_key(
        stack: str, stack_manifests: dict[str, list[dict[str, Any]]]) -> None:
    manifests = stack_manifests[stack]
    secrets = {(s["metadata"]["namespace"], s["metadata"]["name"]): set(s["stringData"])
               for s in of_kind(manifests, "Secret")}
    references = 0
    for kind in WORKLOAD_KINDS:
        for workload in of_kind(manifests, kind):
            namespace = workload["metadata"]["namespace"]
            for container in containers(workload):
                for item in container.get("env", []):
                    ref = item.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        references += 1
                        assert ref["key"] in secrets[(namespace, ref["name"])], item
                for source in container.get("envFrom", []):
                    references += 1
                    assert (namespace, source["secretRef"]["name"]) in secrets
            for volume in pod_template(workload)["spec"]["volumes"]:
                if "secret" in volume:
                    keys = secrets[(namespace, volume["secret"]["secretName"])]
                    assert {item["key"] for item in volume["secret"]["items"]} <= keys
    assert references >= 15


def test_network_policies_open_the_ports_the_selected_pods_listen_on(stack: str) -> None:
    # With a served model, so the serving namespace's policy selects pods too.
    manifests = to_manifests(run_stack(stack, with_a_model(stack)).resources)
    workloads = [*of_kind(manifests, "Deployment"), *of_kind(manifests, "StatefulSet")]
    for policy in of_kind(manifests, "NetworkPolicy"):
        selector = policy["spec"]["podSelector"].get("matchLabels")
        if not selector or "ingress" not in policy["spec"]:
            continue
        pods = [w for w in workloads
                if w["metadata"]["namespace"] == policy["metadata"]["namespace"]
                and selects(selector, pod_template(w)["metadata"]["labels"])]
        assert pods, policy["metadata"]
        for pod in pods:
            listening = {port["containerPort"] for container in containers(pod)
                         for port in container.get("ports", [])}
            for rule in policy["spec"]["ingress"]:
                assert {port["port"] for port in rule["ports"]} <= listening, policy["metadata"]


def test_the_entry_point_exports_what_the_program_returns(
        repo_root: Path, monkeypatch: pytest.MonkeyPatch,
        recorded_stacks: dict[str, RecordedStack]) -> None:
    exported: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda key, value: exported.setdefault(key, value))

    def entry_point() -> dict[str, Any]:
        runpy.run_path(str(repo_root / "infra" / "__main__.py"))
        return exported

    recorded = run_program(entry_point, config={
        f"{PROJECT}:{key}": value for key, value in stack_settings("dev").items()})
    assert recorded.outputs == recorded_stacks["dev"].outputs
    assert len(recorded.resources) == len(recorded_stacks["dev"].resources)
