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
    # The restricted standard forbids the node's network and ports in every namespace:
    # an ingress controller that needs them runs outside the namespaces it governs.
    "host network": (obj.with_pod(DEPLOYMENT, hostNetwork=True), "node's network"),
    "host network in the ingress controller's namespace": (obj.with_pod(
        obj.deployment(namespace="ingress-nginx"), hostNetwork=True), "node's network"),
    "host port": (obj.with_container(DEPLOYMENT, ports=[
        {"containerPort": 8080.0, "hostPort": 8080.0}]), "node's ports 8080"),
    "host port on a bare Pod": (obj.bare_pod(obj.container(ports=[
        {"containerPort": 80.0, "hostPort": 80.0}])), "node's ports 80"),
    "Windows host process on the pod under a container's own windowsOptions": (
        obj.with_pod(obj.with_container(DEPLOYMENT, securityContext=obj.security(
            windowsOptions={"gmsaCredentialSpecName": "x"})), securityContext={
            **obj.POD_SECURITY, "windowsOptions": {"hostProcess": True}}), "host process"),
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
