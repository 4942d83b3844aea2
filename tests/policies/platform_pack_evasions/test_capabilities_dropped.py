"""Ways around capabilities-dropped: spellings of drop and add the rule did not read."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "capabilities-dropped"
DEPLOYMENT = obj.deployment()


def capabilities(**value: object) -> obj.Resource:
    return obj.with_container(DEPLOYMENT, securityContext=obj.security(capabilities=value))


EVASIONS = {
    "drop 'all' in lower case": capabilities(drop=["all"]),
    "drop as a string, not a list": capabilities(drop="ALL"),
    "CAP_ prefix on an added capability": capabilities(drop=["ALL"], add=["CAP_SYS_ADMIN"]),
    "lower-case added capability": capabilities(drop=["ALL"], add=["net_raw"]),
    "everything added back": capabilities(drop=["ALL"], add=["ALL"]),
    "added in an ephemeral container": obj.with_pod(DEPLOYMENT, ephemeralContainers=[
        obj.container(name="debug", securityContext=obj.security(capabilities={
            "drop": ["ALL"], "add": ["SYS_ADMIN"]}))]),
    "added in an Argo Rollout": obj.rollout(obj.container(securityContext=obj.security(
        capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}))),
    "added in an init container": obj.with_pod(DEPLOYMENT, initContainers=[obj.container(
        name="init", securityContext=obj.security(capabilities={"drop": ["ALL"],
                                                                "add": ["SYS_PTRACE"]}))]),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    caught(RULE, EVASIONS[way])


def test_an_allowed_capability_passes_in_any_spelling() -> None:
    config = {"environment": "prod", "allowedCapabilities": ["NET_BIND_SERVICE"]}
    spelled = capabilities(drop=["ALL"], add=["CAP_NET_BIND_SERVICE", "net_bind_service"])
    assert run_rule(RULE, spelled, "prod", config) == []


def test_a_configuration_cannot_allow_more_than_the_restricted_standard() -> None:
    config = {"environment": "prod", "allowedCapabilities": ["SYS_ADMIN", "NET_BIND_SERVICE"]}
    sys_admin = capabilities(drop=["ALL"], add=["SYS_ADMIN"])
    assert any("SYS_ADMIN" in message for message in run_rule(RULE, sys_admin, "prod", config))
