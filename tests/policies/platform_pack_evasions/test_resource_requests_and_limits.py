"""Ways around resource-requests-and-limits: bounds that are there but bound nothing."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "resource-requests-and-limits"
DEPLOYMENT = obj.deployment()


def resources(limits: dict, requests: dict | None = None) -> obj.Resource:
    return obj.with_container(DEPLOYMENT, resources={
        "requests": requests or {"cpu": "250m", "memory": "512Mi"}, "limits": limits})


EVASIONS = {
    "zero memory limit": (resources({"cpu": "1", "memory": "0"}), "resources.limits.memory"),
    "zero cpu limit with a unit": (resources({"cpu": "0m", "memory": "1Gi"}),
                                   "resources.limits.cpu"),
    "zero as a number": (resources({"cpu": 0.0, "memory": "1Gi"}), "resources.limits.cpu"),
    "empty request": (resources({"cpu": "1", "memory": "1Gi"}, {"cpu": "", "memory": "1Gi"}),
                      "resources.requests.cpu"),
    "unbounded init container": (obj.with_pod(DEPLOYMENT, initContainers=[
        obj.container(name="init", resources={})]), "Container 'init'"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    resource, says = EVASIONS[way]
    assert any(says in message for message in caught(RULE, resource))


def test_fractional_quantities_are_bounds() -> None:
    assert run_rule(RULE, resources({"cpu": "0.5", "memory": "512Mi"}), "prod") == []
