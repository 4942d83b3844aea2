"""Ways around no-privileged-containers: the node's powers taken without privileged: true."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "no-privileged-containers"
DEPLOYMENT = obj.deployment()
EVASIONS = {
    "privileged init container": (obj.with_pod(DEPLOYMENT, initContainers=[
        obj.container(name="init", securityContext=obj.security(privileged=True))]),
        "is privileged"),
    "host PID namespace": (obj.with_pod(DEPLOYMENT, hostPID=True), "process namespace"),
    "host IPC namespace": (obj.with_pod(DEPLOYMENT, hostIPC=True), "IPC namespace"),
    "node path mounted": (obj.with_pod(DEPLOYMENT, volumes=[
        {"name": "root", "hostPath": {"path": "/"}}]), "mounts the node's path '/'"),
    "Windows host process on the pod": (obj.with_pod(DEPLOYMENT, securityContext={
        "runAsNonRoot": True, "windowsOptions": {"hostProcess": True}}), "host process"),
    "privileged through a DaemonSet of an old API": (obj.retyped(obj.with_container(
        DEPLOYMENT, securityContext=obj.security(privileged=True)),
        "kubernetes:extensions/v1beta1:DaemonSet"), "is privileged"),
    "privileged bare Pod": (obj.bare_pod(obj.container(
        securityContext=obj.security(privileged=True))), "is privileged"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    resources, says = EVASIONS[way]
    assert any(says in message for message in caught(RULE, resources))


def test_the_hardened_workload_still_passes() -> None:
    assert run_rule(RULE, obj.with_pod(DEPLOYMENT, volumes=[{"name": "tmp", "emptyDir": {}}]),
                    "prod") == []
