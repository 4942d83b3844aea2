"""Ways around health-probes: probes that check nothing, workloads the rule did not read."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "health-probes"
DEPLOYMENT = obj.deployment()
EVASIONS = {
    "a probe with timings but no check": obj.with_container(
        DEPLOYMENT, readinessProbe={"periodSeconds": 10.0}),
    "an empty probe": obj.with_container(DEPLOYMENT, livenessProbe={}),
    "a bare Pod without probes": obj.bare_pod(obj.container(livenessProbe=None)),
    "a Deployment of an old API": obj.retyped(obj.with_container(
        DEPLOYMENT, readinessProbe=None), "kubernetes:apps/v1beta1:Deployment"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    caught(RULE, EVASIONS[way], "prod")


@pytest.mark.parametrize("handler", [{"tcpSocket": {"port": 8080.0}},
                                     {"exec": {"command": ["pg_isready"]}},
                                     {"grpc": {"port": 8081.0}}])
def test_every_kind_of_check_counts(handler: dict) -> None:
    probed = obj.with_container(DEPLOYMENT, readinessProbe=handler, livenessProbe=handler)
    assert run_rule(RULE, probed, "prod") == []
