"""Ways around default-deny-network-policy: an allow-all policy beside the default deny."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "default-deny-network-policy"
DENIED = [obj.namespace(), obj.network_policy("default-deny")]
EVERYONE = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
EVASIONS = {
    "ingress: [{}]": {**EVERYONE, "ingress": [{}]},
    "egress: [{}]": {**EVERYONE, "egress": [{}]},
    "a rule with ports but no peers": {**EVERYONE, "ingress": [{"ports": [{"port": 5000.0}]}]},
    "from every namespace": {**EVERYONE, "ingress": [{"from": [{"namespaceSelector": {}}]}]},
    "from 0.0.0.0/0": {**EVERYONE, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]},
    "to ::/0": {**EVERYONE, "egress": [{"to": [{"ipBlock": {"cidr": "::/0"}}]}]},
    "one pod opened to all": {"podSelector": {"matchLabels": obj.LABELS},
                              "policyTypes": ["Ingress"], "ingress": [{}]},
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    extra = obj.raw_network_policy("allow-all", EVASIONS[way])
    assert any("undoes the default deny" in m for m in caught(RULE, [*DENIED, extra], "dev"))


@pytest.mark.parametrize("spec", [
    {"podSelector": {}, "policyTypes": ["Ingress"]},
    {"podSelector": {"matchLabels": obj.LABELS}, "policyTypes": ["Ingress", "Egress"]},
    {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{}]},
], ids=["ingress only", "some pods", "egress opened"])
def test_a_deny_that_is_not_total_does_not_count(spec: dict) -> None:
    messages = caught(RULE, [obj.namespace(), obj.raw_network_policy("default-deny", spec)], "dev")
    assert any("has no default-deny NetworkPolicy" in m for m in messages)


def test_named_peers_beside_the_deny_pass() -> None:
    allow = obj.raw_network_policy("allow-mlflow", {
        "podSelector": {"matchLabels": obj.LABELS}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "ingress-nginx"}}}]}]})
    assert run_rule(RULE, [*DENIED, allow], "dev") == []
