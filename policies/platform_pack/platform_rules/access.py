"""Who holds the cluster, and credentials left where anyone who can read an object sees them.

A binding of cluster-admin (or of a role that grants every verb on every resource)
hands the cluster to its subjects. Annotations are readable by anyone who can list the
object and are copied into `kubectl describe` and events; probe headers are stored in
the pod spec: neither can hold a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .kubernetes import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    ROLE,
    ROLE_BINDING,
    describe,
    dig,
    is_a,
    items,
    known_items,
    mapping,
    named_containers,
    pod_metadata,
)
from .rule import Rule, Settings
from .secrets import NAME_WORDS, plain, secret_name, secrets_in_text

CLUSTER_ADMIN = "cluster-admin"
# Headers that carry a credential whatever their value looks like.
CREDENTIAL_HEADERS = {"AUTHORIZATION", "PROXY-AUTHORIZATION", "COOKIE"}
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
HOOKS = ("postStart", "preStop")
# A Kubernetes object's name (optionally namespace/name): what an annotation naming the
# Secret to use (nginx's auth-secret, a TLS secret) holds instead of the secret itself.
OBJECT_NAME = re.compile(r"^(?:[a-z0-9][a-z0-9-]*/)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def check_cluster_admin(args: ResourceValidationArgs, report: ReportViolation,
                        _: Settings) -> None:
    subject = describe(args.resource_type, args.props, args.name)
    if is_a(args.resource_type, ROLE_BINDING, CLUSTER_ROLE_BINDING) \
            and dig(args.props, "roleRef", "name") == CLUSTER_ADMIN:
        report(f"{subject} grants cluster-admin to its subjects. Bind a Role that grants only "
               "the verbs and resources they need, in their namespace.")
    if is_a(args.resource_type, ROLE, CLUSTER_ROLE) and any(
            _grants_everything(mapping(rule)) for rule in items(args.props.get("rules"))):
        report(f"{subject} grants every verb on every resource, as cluster-admin does. List "
               "the verbs and resources its subjects need.")


def _grants_everything(rule: Mapping[str, Any]) -> bool:
    return "*" in items(rule.get("verbs")) and "*" in items(rule.get("resources")) \
        and "*" in items(rule.get("apiGroups"))


def check_no_secrets_in_annotations(args: ResourceValidationArgs, report: ReportViolation,
                                    _: Settings) -> None:
    subject = describe(args.resource_type, args.props, args.name)
    annotations = [*known_items(dig(args.props, "metadata", "annotations")),
                   *known_items(pod_metadata(args.resource_type, args.props).get("annotations"))]
    for key, value in annotations:
        found = _secret_annotation(str(key), value)
        if found:
            report(f"{subject} carries a secret in the annotation '{key}' ({found}), readable "
                   "by anyone who can read the object. Store it in a Secret and mount or "
                   "reference that instead.")


def _secret_annotation(key: str, value: Any) -> str:
    """What makes an annotation a secret: its value's shape, or a secret name and a value."""
    if not isinstance(value, str) or not plain(value):
        return ""
    shapes = secrets_in_text(value)
    if shapes:
        return ", ".join(sorted(set(shapes)))
    names_a_secret = "SECRET" in (word.upper() for word in NAME_WORDS.findall(key))
    if secret_name(key) and not (names_a_secret and OBJECT_NAME.match(value)):
        return "a secret's name with a plain value"
    return ""


def check_no_secrets_in_probe_headers(args: ResourceValidationArgs, report: ReportViolation,
                                      _: Settings) -> None:
    for subject, container, _spec in named_containers(args.resource_type, args.props,
                                                      args.name):
        for where, request in _http_requests(container):
            leaked = _secret_headers(request)
            if secrets_in_text(str(request.get("path", ""))):
                leaked.append("path")
            if leaked:
                report(f"{subject} sends credentials in its {where} ({', '.join(leaked)}), "
                       "stored in the pod spec for anyone who can read it. Probe an endpoint "
                       "that needs no credentials (or use a tcpSocket or grpc probe).")


def _http_requests(container: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for probe in PROBES:
        yield probe, mapping(dig(container, probe, "httpGet"))
    for hook in HOOKS:
        yield f"{hook} hook", mapping(dig(container, "lifecycle", hook, "httpGet"))


def _secret_headers(request: Mapping[str, Any]) -> list[str]:
    leaked = []
    for header in items(request.get("httpHeaders")):
        name, value = str(dig(header, "name") or ""), dig(header, "value")
        if isinstance(value, str) and plain(value) and (
                name.upper() in CREDENTIAL_HEADERS or secret_name(name)
                or secrets_in_text(value)):
            leaked.append(f"header {name}")
    return leaked


RULES = [
    Rule("no-cluster-admin-bindings",
         "No binding may grant cluster-admin, and no role every verb on every resource.",
         check_cluster_admin),
    Rule("no-secrets-in-annotations",
         "Annotations must not hold credentials.", check_no_secrets_in_annotations),
    Rule("no-secrets-in-probe-headers",
         "Probes and lifecycle hooks must not send credentials in headers or paths.",
         check_no_secrets_in_probe_headers),
]
