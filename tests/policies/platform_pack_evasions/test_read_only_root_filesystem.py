"""Ways around read-only-root-filesystem: writable roots where the rule did not look."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "read-only-root-filesystem"
DEPLOYMENT = obj.deployment()
EVASIONS = {
    "left out": obj.with_container(DEPLOYMENT, securityContext=obj.security(
        readOnlyRootFilesystem=None)),
    "true as a string": obj.with_container(DEPLOYMENT, securityContext=obj.security(
        readOnlyRootFilesystem="true")),
    "set only on the pod, where Kubernetes has no such field": obj.with_pod(
        obj.with_container(DEPLOYMENT, securityContext=obj.security(
            readOnlyRootFilesystem=None)),
        securityContext={"runAsNonRoot": True, "readOnlyRootFilesystem": True}),
    "writable init container": obj.with_pod(DEPLOYMENT, initContainers=[obj.container(
        name="init", securityContext=obj.security(readOnlyRootFilesystem=False))]),
    "writable through a ReplicationController": obj.retyped(obj.with_container(
        DEPLOYMENT, securityContext=obj.security(readOnlyRootFilesystem=False)),
        "kubernetes:core/v1:ReplicationController"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("root filesystem" in m for m in caught(RULE, EVASIONS[way]))


def test_the_hardened_workload_still_passes() -> None:
    assert run_rule(RULE, DEPLOYMENT, "prod") == []
