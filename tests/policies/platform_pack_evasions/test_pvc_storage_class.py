"""Ways around pvc-storage-class: claims made elsewhere than a PersistentVolumeClaim."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "pvc-storage-class"
EPHEMERAL = {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
    "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}
EVASIONS = {
    "an empty class name": obj.claim(""),
    "an ephemeral volume in a Deployment": obj.with_pod(obj.deployment(), volumes=[EPHEMERAL]),
    "an ephemeral volume in a bare Pod": obj.resource(obj.k8s.POD, {
        "metadata": {"name": "p"}, "spec": {"containers": [obj.container()],
                                            "volumes": [EPHEMERAL]}}),
    "a claim through a patch": obj.retyped(obj.claim(None),
                                           "kubernetes:core/v1:PersistentVolumeClaimPatch"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("no storageClassName" in m for m in caught(RULE, EVASIONS[way], "prod"))


def test_a_workload_without_claims_is_left_alone() -> None:
    assert run_rule(RULE, obj.deployment(), "prod") == []
