"""Ways around containers-run-as-non-root: root set where the rule did not look."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "containers-run-as-non-root"
DEPLOYMENT = obj.deployment()
ROOT = obj.with_container(DEPLOYMENT, securityContext=obj.security(runAsUser=0))
EVASIONS = {
    "container overrides the pod's runAsNonRoot": obj.with_container(
        DEPLOYMENT, securityContext=obj.security(runAsNonRoot=False)),
    "UID 0 set at pod level only": obj.with_pod(
        obj.with_container(DEPLOYMENT, securityContext=obj.security(runAsUser=None)),
        securityContext={"runAsNonRoot": True, "runAsUser": 0.0}),
    # The standard checks the pod's runAsUser on its own, even when every container sets one.
    "UID 0 on the pod under every container's own UID": obj.with_pod(
        DEPLOYMENT, securityContext={**obj.POD_SECURITY, "runAsUser": 0.0}),
    "root in a Rollout's ephemeral container": obj.rollout(ephemeralContainers=[
        obj.container(name="debug", securityContext=obj.security(runAsUser=0))]),
    "runAsNonRoot nowhere": obj.with_pod(
        obj.with_container(DEPLOYMENT, securityContext=obj.security(runAsNonRoot=None)),
        securityContext={}),
    "runAsNonRoot as a string": obj.with_container(
        DEPLOYMENT, securityContext=obj.security(runAsNonRoot="true")),
    "root in an init container": obj.with_pod(DEPLOYMENT, initContainers=[
        obj.container(name="init", securityContext=obj.security(runAsUser=0))]),
    "root in a bare Pod": obj.bare_pod(obj.container(securityContext=obj.security(runAsUser=0))),
    "root through an older API version": obj.retyped(ROOT, "kubernetes:apps/v1beta2:Deployment"),
    "root through a DeploymentPatch": obj.retyped(ROOT, "kubernetes:apps/v1:DeploymentPatch"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("root" in message for message in caught(RULE, EVASIONS[way]))


def test_the_hardened_workload_still_passes() -> None:
    assert run_rule(RULE, DEPLOYMENT, "prod") == []
