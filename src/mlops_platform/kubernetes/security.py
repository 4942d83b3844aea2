"""The container security settings every workload of the platform shares.

One place decides what "hardened" means (non-root, no privilege escalation,
read-only root filesystem, no capabilities, the runtime's seccomp profile,
requests and limits), so the components cannot drift apart and the namespaces'
Pod Security `restricted` level admits every pod.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_platform.kubernetes.kube_types import Resources

# A UID above the host's usual range, so a container escape lands on no real user.
NON_ROOT_UID = 10001
WRITABLE_TMP = "/tmp"  # noqa: S108 - an emptyDir mount, private to the pod


def container_security_context(*, read_only_root: bool = True) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": NON_ROOT_UID,
        "runAsGroup": NON_ROOT_UID,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": NON_ROOT_UID,
        "runAsGroup": NON_ROOT_UID,
        "fsGroup": NON_ROOT_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def tokenless_service_account(resource_name: str, name: str, namespace: str,
                              opts: pulumi.ResourceOptions) -> k8s.core.v1.ServiceAccount:
    """A service account whose API token no pod mounts unless its spec asks for one."""
    metadata = {"name": name, "namespace": namespace}
    return k8s.core.v1.ServiceAccount(resource_name, metadata=metadata,
                                      automount_service_account_token=False, opts=opts)


def hardened_pod_spec(containers: list[dict[str, Any]], *, service_account: str,
                      volumes: list[dict[str, Any]] | None = None,
                      init_containers: list[dict[str, Any]] | None = None,
                      restart_policy: str | None = None, **fields: Any) -> dict[str, Any]:
    """A pod spec with the shared settings and a private writable /tmp for every container.

    Workloads never call the Kubernetes API, so no service-account token is mounted.
    """
    spec: dict[str, Any] = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "containers": containers,
        "volumes": [{"name": "tmp", "emptyDir": {}}, *(volumes or [])],
        **fields,
    }
    if init_containers:
        spec["initContainers"] = init_containers
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    return spec


def hardened_container(name: str, image: str, resources: Resources, *,
                       read_only_root: bool = True, **fields: Any) -> dict[str, Any]:
    """A container with the shared security context, requests and limits, and /tmp mounted."""
    mounts = [{"name": "tmp", "mountPath": WRITABLE_TMP}, *fields.pop("volumeMounts", [])]
    return {
        "name": name,
        "image": image,
        # Every reference is pinned (a version, a digest in prod), so a cached copy is the
        # right one; and images side-loaded into the nodes (`kind load`) are never pulled.
        "imagePullPolicy": "IfNotPresent",
        "securityContext": container_security_context(read_only_root=read_only_root),
        "resources": resources.to_kubernetes(),
        "volumeMounts": mounts,
        **fields,
    }
