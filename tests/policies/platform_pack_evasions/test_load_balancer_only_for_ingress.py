"""Ways around load-balancer-only-for-ingress: other ways to put a pod on the node's edge."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "load-balancer-only-for-ingress"


def service(spec: dict) -> obj.Resource:
    return obj.resource(obj.k8s.SERVICE, {"metadata": {"name": "edge", "namespace": "serving"},
                                          "spec": spec}, "edge")


EVASIONS = {
    "NodePort Service": (service({"type": "NodePort"}), "type NodePort"),
    "external IPs on a ClusterIP Service": (service({"type": "ClusterIP",
                                                     "externalIPs": ["203.0.113.7"]}),
                                            "external IPs"),
    "LoadBalancer without a namespace": (obj.resource(obj.k8s.SERVICE, {
        "metadata": {"name": "edge"}, "spec": {"type": "LoadBalancer"}}), "type LoadBalancer"),
    "LoadBalancer through a ServicePatch": (obj.retyped(service({"type": "LoadBalancer"}),
                                                        "kubernetes:core/v1:ServicePatch"),
                                            "type LoadBalancer"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    resource, says = EVASIONS[way]
    assert any(says in message for message in caught(RULE, resource, "dev"))


def test_the_ingress_controller_may_be_exposed_on_the_nodes() -> None:
    exposed = [obj.service(kind, "ingress-nginx") for kind in ("NodePort", "LoadBalancer")]
    assert run_rule(RULE, exposed, "dev") == []
