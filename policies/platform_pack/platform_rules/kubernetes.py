"""Reading Kubernetes objects as the policies see them: wire inputs, keys checked first.

Properties arrive as Mappings and Sequences (proxies that raise on values
unknown during preview), never plain dicts and lists, so every reader here
tests for the abstract types and treats a missing key as absent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

POD = "kubernetes:core/v1:Pod"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
SERVICE = "kubernetes:core/v1:Service"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NAMESPACE = "kubernetes:core/v1:Namespace"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"

# Where each workload type keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    POD: ("spec",),
    DEPLOYMENT: ("spec", "template", "spec"),
    STATEFUL_SET: ("spec", "template", "spec"),
    DAEMON_SET: ("spec", "template", "spec"),
    REPLICA_SET: ("spec", "template", "spec"),
    JOB: ("spec", "template", "spec"),
    CRON_JOB: ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Workloads that run until stopped (probes and replicas matter); Jobs run to completion.
LONG_RUNNING = (DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET)
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def dig(value: Any, *keys: str) -> Any:
    """The value at ``keys`` inside nested mappings, or None as soon as one is missing."""
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def items(value: Any) -> list[Any]:
    """A list field as a list; absent or malformed means empty."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def kind(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def describe(resource_type: str, props: Mapping[str, Any], fallback_name: str = "") -> str:
    """How a message names the object: its kind and `namespace/name`."""
    name = dig(props, "metadata", "name") or fallback_name
    namespace = dig(props, "metadata", "namespace")
    return f"{kind(resource_type)} '{namespace}/{name}'" if namespace else \
        f"{kind(resource_type)} '{name}'"


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    path = POD_SPEC_PATHS.get(resource_type)
    if path is None:
        return None
    spec = dig(props, *path)
    return spec if isinstance(spec, Mapping) else None


def containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every container of a pod spec: init, regular and ephemeral."""
    for field in CONTAINER_LISTS:
        for container in items(spec.get(field)):
            if isinstance(container, Mapping):
                yield container


def app_containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The containers that serve for the pod's whole life (no init or debug containers)."""
    for container in items(spec.get("containers")):
        if isinstance(container, Mapping):
            yield container


def effective_security(container: Mapping[str, Any], spec: Mapping[str, Any], key: str) -> Any:
    """A security setting of a container: its own, else the pod's (Kubernetes' precedence)."""
    own = dig(container, "securityContext", key)
    return own if own is not None else dig(spec, "securityContext", key)


def command_line(container: Mapping[str, Any]) -> list[str]:
    return [str(word) for word in (*items(container.get("command")),
                                   *items(container.get("args")))]


def env_value(container: Mapping[str, Any], name: str) -> str | None:
    for variable in items(container.get("env")):
        if isinstance(variable, Mapping) and variable.get("name") == name:
            value = variable.get("value")
            return value if isinstance(value, str) else None
    return None


def labels_match(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether a non-empty matchLabels selector selects pods with these labels."""
    wanted = mapping(selector.get("matchLabels"))
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())
