"""The pack as a whole, through the analyzer gRPC interface the Pulumi CLI uses."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime import proto
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as UNKNOWN_STRING

from policies.platform_pack.platform_rules.catalog import CONFIG_DIR, PACK_NAME, RULES
from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_server import (
    analyze,
    analyze_stack,
    configure,
    running_pack,
    urn,
)


@pytest.fixture(scope="module")
def pack() -> Iterator[proto.AnalyzerStub]:
    with running_pack(stack="dev") as stub:
        yield stub


def config_file(environment: str) -> dict:
    return json.loads((CONFIG_DIR / f"{environment}.json").read_text())


def by_policy(response: proto.AnalyzeResponse) -> dict[str, list[proto.AnalyzeDiagnostic]]:
    found: dict[str, list[proto.AnalyzeDiagnostic]] = {}
    for diagnostic in response.diagnostics:
        found.setdefault(diagnostic.policyName, []).append(diagnostic)
    return found


def privileged_deployment() -> dict:
    return obj.with_container(obj.deployment(), image="seldonio/mlserver:latest",
                              securityContext=obj.security(privileged=True)).props


def test_the_pack_describes_every_policy_and_its_config_schema(pack: proto.AnalyzerStub) -> None:
    info = pack.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME
    assert info.supportsConfig
    assert [policy.name for policy in info.policies] == [rule.name for rule in RULES]
    for policy in info.policies:
        assert policy.enforcementLevel == proto.MANDATORY
        assert "environment" in policy.configSchema.properties
    stack_policies = {p.name for p in info.policies if p.policy_type == proto.POLICY_TYPE_STACK}
    assert stack_policies == {rule.name for rule in RULES if rule.stack}


def test_prod_config_makes_violations_mandatory(pack: proto.AnalyzerStub) -> None:
    configure(pack, config_file("prod"))
    found = by_policy(analyze(pack, "kubernetes:apps/v1:Deployment", "model",
                              privileged_deployment()))
    assert set(found) == {"no-privileged-containers", "images-pinned"}
    diagnostic = found["no-privileged-containers"][0]
    assert diagnostic.enforcementLevel == proto.MANDATORY
    assert diagnostic.policyPackName == PACK_NAME
    assert "Container 'main' of Deployment 'serving/model' is privileged." in diagnostic.message


def test_dev_config_makes_them_advisory_and_skips_prod_rules(pack: proto.AnalyzerStub) -> None:
    configure(pack, config_file("dev"))
    response = analyze(pack, "kubernetes:apps/v1:Deployment", "model", privileged_deployment())
    assert {d.enforcementLevel for d in response.diagnostics} == {proto.ADVISORY}
    assert "no-privileged-containers" in by_policy(response)
    ingress = analyze(pack, "kubernetes:networking.k8s.io/v1:Ingress", "mlflow",
                      obj.ingress(tls_hosts=None).props)
    assert not ingress.diagnostics
    assert [n.policy_name for n in ingress.not_applicable] == ["ingress-tls"]


def test_stack_policies_see_every_resource(pack: proto.AnalyzerStub) -> None:
    configure(pack, config_file("prod"))
    namespace = obj.namespace("mlops-prod")
    postgres = obj.postgres()
    response = analyze_stack(pack, [
        (namespace.type_, "ns", namespace.props),
        (postgres.type_, "db", postgres.props)])
    found = by_policy(response)
    assert set(found) == {"default-deny-network-policy", "database-backups"}
    assert found["default-deny-network-policy"][0].urn == urn(namespace.type_, "ns")
    assert found["database-backups"][0].urn == urn(postgres.type_, "db")


def test_without_config_the_stack_name_picks_the_environment(
        pack: proto.AnalyzerStub) -> None:
    configure(pack, {})  # what the CLI sends without --policy-pack-config
    ingress = analyze(pack, "kubernetes:networking.k8s.io/v1:Ingress", "mlflow",
                      obj.ingress(tls_hosts=None).props)
    # The pack runs for the stack "dev": TLS is not demanded there.
    assert [n.policy_name for n in ingress.not_applicable] == ["ingress-tls"]
    unpinned = obj.with_container(obj.deployment(), image=obj.IMAGE).props
    assert not analyze(pack, "kubernetes:apps/v1:Deployment", "model", unpinned).diagnostics


def test_values_unknown_during_preview_are_reported_not_crashed_on(
        pack: proto.AnalyzerStub) -> None:
    configure(pack, config_file("prod"))
    unknown_image = obj.with_container(obj.deployment(), image=UNKNOWN_STRING).props
    response = analyze(pack, "kubernetes:apps/v1:Deployment", "model", unknown_image)
    found = by_policy(response)
    assert set(found) == {"images-pinned"}
    assert "can't be known during preview" in found["images-pinned"][0].message
    assert found["images-pinned"][0].enforcementLevel == proto.ADVISORY


def test_a_served_model_must_be_scraped_and_in_operator_mode_alerted_on(
        pack: proto.AnalyzerStub) -> None:
    configure(pack, config_file("prod"))
    observability = {"served-model-scraped", "served-model-alerted"}

    def found(*resources: obj.Resource) -> dict[str, list[proto.AnalyzeDiagnostic]]:
        response = analyze_stack(pack, [(r.type_, r.name, r.props) for r in resources])
        return {name: d for name, d in by_policy(response).items() if name in observability}

    server = obj.model_server_with_metrics_port()
    unscraped = found(server)
    assert set(unscraped) == {"served-model-scraped"}
    assert unscraped["served-model-scraped"][0].urn == urn(server.type_, server.name)
    assert unscraped["served-model-scraped"][0].enforcementLevel == proto.MANDATORY
    monitor = obj.pod_monitor()
    unalerted = found(server, monitor)
    assert set(unalerted) == {"served-model-alerted"}
    assert "PodMonitor 'serving/mlserver'" in unalerted["served-model-alerted"][0].message
    assert found(server, monitor, obj.prometheus_rule()) == {}
    assert found(obj.scraped_model_server()) == {}
