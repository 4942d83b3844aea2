"""Ways around seccomp-profile-restricted: a profile switched off below a compliant pod.

Every case passed the pack before this rule: nothing read seccompProfile at all, so a
container (init, regular or ephemeral) could override its pod's RuntimeDefault.
"""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "seccomp-profile-restricted"
DEPLOYMENT = obj.deployment()


def container_profile(**profile: object) -> obj.Resource:
    return obj.with_container(DEPLOYMENT, securityContext=obj.security(seccompProfile=profile))


def pod_profile(profile: object) -> obj.Resource:
    return obj.with_pod(DEPLOYMENT, securityContext={**obj.POD_SECURITY,
                                                     "seccompProfile": profile})


UNCONFINED_INIT = obj.container(name="init", securityContext=obj.security(
    seccompProfile={"type": "Unconfined"}))
EVASIONS = {
    "a container overriding its pod's RuntimeDefault": container_profile(type="Unconfined"),
    # The API server answers `Unsupported value: "unconfined"`: the pack needn't know that
    # to refuse it, since only RuntimeDefault and Localhost pass.
    "lower-case unconfined": container_profile(type="unconfined"),
    "an empty profile overriding the pod's": container_profile(),
    "an init container overriding the pod's": obj.with_pod(DEPLOYMENT,
                                                           initContainers=[UNCONFINED_INIT]),
    "an ephemeral container overriding the pod's": obj.with_pod(
        DEPLOYMENT, ephemeralContainers=[{**UNCONFINED_INIT, "name": "debug"}]),
    "no profile on the pod or the container": pod_profile(None),
    "Unconfined on the pod, RuntimeDefault on every container": obj.with_container(
        pod_profile({"type": "Unconfined"}),
        securityContext=obj.security(seccompProfile={"type": "RuntimeDefault"})),
    "the legacy annotation on the pods": obj.annotated(
        DEPLOYMENT, {"container.seccomp.security.alpha.kubernetes.io/main": "unconfined"},
        on_pods=True),
    "an override inside an Argo Rollout": obj.rollout(obj.container(
        securityContext=obj.security(seccompProfile={"type": "Unconfined"}))),
    "an override on a bare Pod": obj.bare_pod(obj.container(
        securityContext=obj.security(seccompProfile={"type": "Unconfined"}))),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    caught(RULE, EVASIONS[way])


def test_the_override_is_named_with_the_fix() -> None:
    message, = caught(RULE, EVASIONS["a container overriding its pod's RuntimeDefault"])
    assert message.startswith("Container 'main' of Deployment 'serving/model' runs with the "
                              "seccomp profile 'Unconfined'")


@pytest.mark.parametrize("allowed", [
    pod_profile({"type": "RuntimeDefault"}),
    container_profile(type="Localhost", localhostProfile="profiles/mlserver.json"),
    obj.with_container(pod_profile(None), securityContext=obj.security(
        seccompProfile={"type": "RuntimeDefault"})),
])
def test_a_profile_the_standard_allows_passes(allowed: obj.Resource) -> None:
    assert run_rule(RULE, allowed, "prod") == []
