"""Ways around no-privilege-escalation: the setting left out or put where it has no effect."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "no-privilege-escalation"
DEPLOYMENT = obj.deployment()
EVASIONS = {
    "allowPrivilegeEscalation left out": obj.with_container(
        DEPLOYMENT, securityContext={k: v for k, v in obj.security().items()
                                     if k != "allowPrivilegeEscalation"}),
    "set only on the pod, where Kubernetes has no such field": obj.with_pod(
        obj.with_container(DEPLOYMENT, securityContext=obj.security(
            allowPrivilegeEscalation=None)),
        securityContext={"runAsNonRoot": True, "allowPrivilegeEscalation": False}),
    "false as a string": obj.with_container(
        DEPLOYMENT, securityContext=obj.security(allowPrivilegeEscalation="false")),
    "escalation in an ephemeral container": obj.with_pod(DEPLOYMENT, ephemeralContainers=[
        obj.container(name="debug", securityContext={"runAsNonRoot": True})]),
    "escalation in an init container of a StatefulSet": obj.retyped(obj.with_pod(
        DEPLOYMENT, initContainers=[obj.container(name="init", securityContext=obj.security(
            allowPrivilegeEscalation=True))]), "kubernetes:apps/v1:StatefulSet"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("allows privilege escalation" in m for m in caught(RULE, EVASIONS[way]))


def test_the_hardened_workload_still_passes() -> None:
    assert run_rule(RULE, DEPLOYMENT, "prod") == []
