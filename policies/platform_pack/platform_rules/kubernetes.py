"""Reading Kubernetes objects as the policies see them: wire inputs, keys checked first.

Properties arrive as Mappings and Sequences (proxies that raise on values
unknown during preview), never plain dicts and lists, so every reader here
tests for the abstract types and treats a missing key as absent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

POD = "kubernetes:core/v1:Pod"
REPLICATION_CONTROLLER = "kubernetes:core/v1:ReplicationController"
POD_TEMPLATE = "kubernetes:core/v1:PodTemplate"
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
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"

# The version the constants above use per API group: other versions of a kind, and the
# server-side-apply patches of it, are read as that one, so an object can't slip past a
# rule by being declared through `apps/v1beta2` or `DeploymentPatch`.
STABLE_VERSIONS = {"core": "v1", "apps": "v1", "batch": "v1", "networking.k8s.io": "v1",
                   "policy": "v1", "autoscaling": "v2", "serving.kserve.io": "v1beta1",
                   "rbac.authorization.k8s.io": "v1"}
MOVED_FROM_EXTENSIONS = {"Deployment": "apps", "DaemonSet": "apps", "ReplicaSet": "apps",
                         "Ingress": "networking.k8s.io", "NetworkPolicy": "networking.k8s.io"}

# Where each workload type keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    POD: ("spec",),
    POD_TEMPLATE: ("template", "spec"),
    REPLICATION_CONTROLLER: ("spec", "template", "spec"),
    DEPLOYMENT: ("spec", "template", "spec"),
    STATEFUL_SET: ("spec", "template", "spec"),
    DAEMON_SET: ("spec", "template", "spec"),
    REPLICA_SET: ("spec", "template", "spec"),
    JOB: ("spec", "template", "spec"),
    CRON_JOB: ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Where a kind the pack does not know keeps a pod template, if it has one (Argo Rollouts,
# Knative Services, OpenKruise CloneSets, operators' CronJob-like kinds).
TEMPLATE_PATHS = (("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec"))
# Keys only a pod spec (or an embedded container) has: found anywhere else, a pod template
# sits where the pack does not look.
POD_SPEC_KEYS = ("containers", "initContainers", "ephemeralContainers")
# Workloads that run until stopped (probes and replicas matter); Jobs run to completion.
LONG_RUNNING = (POD, DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, REPLICATION_CONTROLLER)
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


def known_items(value: Any) -> Iterator[tuple[str, Any]]:
    """The entries of a mapping whose values are known (in preview some are not yet)."""
    for key in mapping(value):
        try:
            yield str(key), value[key]
        except UnknownValueError:
            continue


def known_elements(value: Any) -> Iterator[tuple[int, Any]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return
    for index in range(len(value)):
        try:
            yield index, value[index]
        except UnknownValueError:
            continue


def kind(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def canonical(resource_type: str) -> str:
    """The type token of the pack's constants for any version or patch of a known kind."""
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or "/" not in parts[1]:
        return resource_type
    group = parts[1].rsplit("/", 1)[0]
    name = parts[2].removesuffix("Patch")
    if group == "extensions":
        group = MOVED_FROM_EXTENSIONS.get(name, group)
    version = STABLE_VERSIONS.get(group)
    return f"kubernetes:{group}/{version}:{name}" if version else resource_type


def is_a(resource_type: str, *types: str) -> bool:
    return canonical(resource_type) in types


def describe(resource_type: str, props: Mapping[str, Any], fallback_name: str = "") -> str:
    """How a message names the object: its kind and `namespace/name`."""
    name = dig(props, "metadata", "name") or fallback_name
    namespace = dig(props, "metadata", "namespace")
    return f"{kind(resource_type)} '{namespace}/{name}'" if namespace else \
        f"{kind(resource_type)} '{name}'"


def pod_spec_path(resource_type: str, props: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Where the object keeps the pod spec the pack reads: its kind's place, or for a kind
    the pack does not know, a template path that holds a pod spec's containers."""
    path = POD_SPEC_PATHS.get(canonical(resource_type))
    if path is not None:
        return path
    for candidate in TEMPLATE_PATHS:
        if any(key in mapping(dig(props, *candidate)) for key in POD_SPEC_KEYS):
            return candidate
    return None


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    path = pod_spec_path(resource_type, props)
    spec = dig(props, *path) if path else None
    return spec if isinstance(spec, Mapping) else None


def pod_metadata(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The metadata of the pods the object makes (a template's, or a Pod's own)."""
    path = pod_spec_path(resource_type, props)
    if path is None:
        return {}
    return mapping(dig(props, *path[:-1], "metadata") if len(path) > 1 else props.get("metadata"))


def pod_specs_elsewhere(props: Any, readable: tuple[str, ...] | None,
                        at: tuple[str, ...] = ()) -> Iterator[str]:
    """The dotted paths of everything shaped like a pod spec (or a container list) that is
    not the pod spec the pack reads: pods the rules would never see."""
    if isinstance(props, Mapping):
        if at != readable and _pod_shaped(props):
            yield ".".join(at) or "(top level)"
            return
        for key, value in known_items(props):
            if at == () and key == "metadata":
                continue
            yield from pod_specs_elsewhere(value, readable, (*at, key))
    for index, value in known_elements(props):
        yield from pod_specs_elsewhere(value, readable, (*at, str(index)))


def _pod_shaped(value: Mapping[str, Any]) -> bool:
    """A pod spec, or a workflow step that embeds one container (Argo's `container:`)."""
    return any(key in value for key in POD_SPEC_KEYS) or \
        "image" in mapping(dict(known_items(value)).get("container"))


def named_containers(resource_type: str, props: Mapping[str, Any], name: str
                     ) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(what to call it in a message, container, pod spec) for every container of an object."""
    spec = pod_spec(resource_type, props)
    if spec is None:
        return
    subject = describe(resource_type, props, name)
    for container in containers(spec):
        yield f"Container '{container.get('name', '?')}' of {subject}", container, spec


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


def env_entries(container: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    """Every env entry of that name, case-insensitively (pydantic-style settings, e.g.
    MLServer's, read names either way; and of duplicates Kubernetes keeps the last)."""
    return [variable for variable in items(container.get("env"))
            if isinstance(variable, Mapping)
            and str(variable.get("name", "")).upper() == name.upper()]


def labels_match(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether a non-empty matchLabels selector selects pods with these labels."""
    wanted = mapping(selector.get("matchLabels"))
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())
