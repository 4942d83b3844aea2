"""Ways around pod-security-labels: levels spelled so that they enforce less or nothing."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "pod-security-labels"
EVASIONS = {
    "Restricted in capitals": obj.namespace(level="Restricted"),
    "with spaces": obj.namespace(level=" restricted"),
    "privileged": obj.namespace(level="privileged"),
    "only warn, no enforce": obj.resource(obj.k8s.NAMESPACE, {"metadata": {"name": "serving",
        "labels": {"pod-security.kubernetes.io/warn": "restricted"}}}),
    "through a NamespacePatch": obj.retyped(obj.namespace(level="baseline"),
                                            "kubernetes:core/v1:NamespacePatch"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    caught(RULE, EVASIONS[way], "dev")


def test_restricted_passes() -> None:
    assert run_rule(RULE, obj.namespace(), "dev") == []
