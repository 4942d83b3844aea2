"""The rest of the restricted Pod Security Standard: volumes, /proc, sysctls, AppArmor, SELinux.

No rule read these fields before, so each case here passed the pack.
"""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, evaluate

DEPLOYMENT = obj.deployment()


def pod_security(**settings: object) -> obj.Resource:
    return obj.with_pod(DEPLOYMENT, securityContext={**obj.POD_SECURITY, **settings})


def container_security(**settings: object) -> obj.Resource:
    return obj.with_container(DEPLOYMENT, securityContext=obj.security(**settings))


DEBUG = obj.container(name="debug", securityContext=obj.security(procMount="Unmasked"))
EVASIONS = {
    "an NFS volume": ("volume-types-restricted", obj.with_pod(DEPLOYMENT, volumes=[
        {"name": "share", "nfs": {"server": "10.0.0.2", "path": "/"}}])),
    "a gitRepo volume": ("volume-types-restricted", obj.with_pod(DEPLOYMENT, volumes=[
        {"name": "code", "gitRepo": {"repository": "https://example.com/x.git"}}])),
    "an unmasked /proc": ("proc-mount-default", container_security(procMount="Unmasked")),
    "an unmasked /proc in an ephemeral container": (
        "proc-mount-default", obj.with_pod(DEPLOYMENT, ephemeralContainers=[DEBUG])),
    "an unsafe sysctl": ("sysctls-safe", pod_security(sysctls=[
        {"name": "kernel.core_pattern", "value": "|/bin/sh"}])),
    "an unsafe sysctl spelled with slashes": ("sysctls-safe", pod_security(sysctls=[
        {"name": "kernel/msgmax", "value": "65536"}])),
    "AppArmor off for a container": ("apparmor-not-loosened", container_security(
        appArmorProfile={"type": "Unconfined"})),
    "AppArmor off for the pod": ("apparmor-not-loosened", pod_security(
        appArmorProfile={"type": "Unconfined"})),
    "AppArmor off by the older annotation": ("apparmor-not-loosened", obj.annotated(
        DEPLOYMENT, {"container.apparmor.security.beta.kubernetes.io/main": "unconfined"},
        on_pods=True)),
    "an SELinux type that escapes the container": ("selinux-not-loosened", pod_security(
        seLinuxOptions={"type": "spc_t"})),
    "an SELinux user for an init container": ("selinux-not-loosened", obj.with_pod(
        DEPLOYMENT, initContainers=[obj.container(name="init", securityContext=obj.security(
            seLinuxOptions={"user": "system_u"}))])),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught_by_its_rule_alone(way: str) -> None:
    rule, resource = EVASIONS[way]
    caught(rule, resource)
    assert {violation.policy for violation in evaluate([resource], "prod")} == {rule}


def test_what_the_standard_allows_passes_every_rule() -> None:
    allowed = obj.with_pod(
        obj.with_container(DEPLOYMENT, securityContext=obj.security(
            procMount="Default", appArmorProfile={"type": "Localhost",
                                                  "localhostProfile": "mlserver"},
            seLinuxOptions={"type": "container_t", "level": "s0:c1,c2"})),
        securityContext={**obj.POD_SECURITY, "sysctls": [
            {"name": "net/ipv4/ip_unprivileged_port_start", "value": "80"}]},
        volumes=[{"name": name, source: {}} for name, source in [
            ("tmp", "emptyDir"), ("settings", "configMap"), ("token", "projected"),
            ("data", "persistentVolumeClaim"), ("creds", "secret")]])
    assert evaluate([allowed], "prod") == []
