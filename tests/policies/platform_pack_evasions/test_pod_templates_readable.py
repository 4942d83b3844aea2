"""Kinds the pack does not know: their pod templates are judged, or they fail closed.

Before, the pod rules read pods only from the kinds in POD_SPEC_PATHS, so an Argo
Rollout or any operator's kind with a template was skipped whole.
"""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, evaluate

RULE = "pod-templates-readable"
UNHARDENED = {"name": "main", "image": obj.IMAGE + obj.DIGEST}


def policies_catching(resource: obj.Resource) -> set[str]:
    return {violation.policy for violation in evaluate([resource], "prod")}


def test_an_argo_rollout_with_an_unhardened_template_is_caught() -> None:
    found = policies_catching(obj.rollout(UNHARDENED))
    assert {"no-privilege-escalation", "capabilities-dropped", "read-only-root-filesystem",
            "resource-requests-and-limits"} <= found


def test_a_hardened_rollout_passes_every_rule() -> None:
    assert evaluate([obj.rollout()], "prod") == []


def test_a_job_like_custom_kind_is_read_at_its_job_template() -> None:
    pod = {"securityContext": obj.POD_SECURITY, "containers": [obj.container(
        securityContext=obj.security(privileged=True))]}
    scheduled = obj.custom_object("kubernetes:batch.example.com/v1:ScheduledRun", {
        "jobTemplate": {"spec": {"template": {"spec": pod}}}})
    assert policies_catching(scheduled) == {"no-privileged-containers"}


@pytest.mark.parametrize("ephemeral", [True, False])
def test_an_unhardened_init_or_ephemeral_container_of_a_rollout_is_caught(
        ephemeral: bool) -> None:
    field = "ephemeralContainers" if ephemeral else "initContainers"
    debug = {**UNHARDENED, "name": "debug",
             "securityContext": {"procMount": "Unmasked",
                                 "seccompProfile": {"type": "Unconfined"}}}
    found = policies_catching(obj.rollout(**{field: [debug]}))
    assert {"proc-mount-default", "seccomp-profile-restricted",
            "no-privilege-escalation", "capabilities-dropped"} <= found


UNREADABLE = {
    "a pod spec under a field of its own": obj.custom_object(
        "kubernetes:example.com/v1:Worker",
        {"workload": {"podSpec": {"containers": [obj.container()]}}}),
    "an Argo Workflow's step container": obj.custom_object(
        "kubernetes:argoproj.io/v1alpha1:Workflow",
        {"templates": [{"name": "main", "container": {"image": obj.IMAGE}}]}),
    "a second pod template beside the readable one": obj.custom_object(
        "kubernetes:example.com/v1:Canary", {
            "template": {"spec": {"containers": [obj.container()]}},
            "canary": {"template": {"spec": {"containers": [UNHARDENED]}}}}),
}


@pytest.mark.parametrize("way", sorted(UNREADABLE))
def test_a_pod_the_pack_cannot_read_fails_closed(way: str) -> None:
    caught(RULE, UNREADABLE[way])
