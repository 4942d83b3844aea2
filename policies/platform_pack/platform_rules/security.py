"""Security rules: hardened containers, pinned images, no plaintext secrets, guarded edges."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from .commands import exec_words, words
from .conventions import POD_SECURITY_ENFORCE_LABEL
from .kubernetes import (
    CONFIG_MAP,
    INGRESS,
    NAMESPACE,
    NETWORK_POLICY,
    SERVICE,
    describe,
    dig,
    effective_security,
    is_a,
    items,
    mapping,
    named_containers,
    pod_spec,
)
from .restricted import ADDABLE_CAPABILITIES
from .roles import image_repository, mlflow_server_apps
from .rule import Rule, Setting, Settings, flag
from .secrets import plain, secret_name, secrets_in_text, secrets_in_words

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# A tag that names no version (no digit) or says latest moves under the same name.
FLOATING_TAG = re.compile(r"^\D*$|(^|[^a-z])latest([^a-z]|$)", re.IGNORECASE)
ZERO_QUANTITY = re.compile(r"^0*\.?0*[a-zA-Z]*$")
EXPOSING_SERVICE_TYPES = ("LoadBalancer", "NodePort")
# Pod fields that hand a container the node itself.
HOST_ACCESS = (("hostPID", "shares the node's process namespace"),
               ("hostIPC", "shares the node's IPC namespace"),
               ("hostNetwork", "shares the node's network namespace"))
# Escaping the restrictive nginx default: with TLS set it redirects plain HTTP to HTTPS.
PLAIN_HTTP_ANNOTATIONS = ("nginx.ingress.kubernetes.io/ssl-redirect",
                          "nginx.ingress.kubernetes.io/force-ssl-redirect")


def _workload_containers(args: ResourceValidationArgs
                         ) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(what to call it in a message, container, pod spec) for every container of a workload."""
    return named_containers(args.resource_type, args.props, args.name)


def check_non_root(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    for subject, container, spec in _workload_containers(args):
        if effective_security(container, spec, "runAsNonRoot") is not True:
            report(f"{subject} may run as root. Set securityContext.runAsNonRoot: true "
                   "(on the container or the pod) and a non-zero runAsUser.")
        elif 0 in (effective_security(container, spec, "runAsUser"),
                   dig(spec, "securityContext", "runAsUser")):
            report(f"{subject} sets runAsUser 0 (root) on itself or its pod. Set runAsUser "
                   "to a non-zero UID.")


def check_no_privilege_escalation(args: ResourceValidationArgs, report: ReportViolation,
                                  _: Settings) -> None:
    for subject, container, _spec in _workload_containers(args):
        if dig(container, "securityContext", "allowPrivilegeEscalation") is not False:
            report(f"{subject} allows privilege escalation. Set "
                   "securityContext.allowPrivilegeEscalation: false on the container.")


def check_not_privileged(args: ResourceValidationArgs, report: ReportViolation,
                         _: Settings) -> None:
    for subject, container, spec in _workload_containers(args):
        if dig(container, "securityContext", "privileged") is True:
            report(f"{subject} is privileged. Remove securityContext.privileged or set it "
                   "to false.")
        if True in (dig(container, "securityContext", "windowsOptions", "hostProcess"),
                    dig(spec, "securityContext", "windowsOptions", "hostProcess")):
            report(f"{subject} runs as a Windows host process. Remove "
                   "securityContext.windowsOptions.hostProcess.")
        ports = [str(dig(port, "hostPort")) for port in items(container.get("ports"))
                 if dig(port, "hostPort")]
        if ports:
            report(f"{subject} binds the node's ports {', '.join(ports)}. Remove hostPort "
                   "and expose it through a Service.")
    spec = pod_spec(args.resource_type, args.props)
    if spec is not None:
        _report_host_access(describe(args.resource_type, args.props, args.name), spec, report)


def _report_host_access(subject: str, spec: Mapping[str, Any], report: ReportViolation) -> None:
    for field, what in HOST_ACCESS:
        if spec.get(field) is True:
            report(f"{subject} {what}. Remove {field} from its pod spec.")
    for volume in items(spec.get("volumes")):
        if mapping(dig(volume, "hostPath")):
            report(f"{subject} mounts the node's path '{dig(volume, 'hostPath', 'path')}' "
                   f"(volume '{dig(volume, 'name')}'). Use an emptyDir, a ConfigMap or a "
                   "PersistentVolumeClaim instead of a hostPath volume.")


def check_capabilities_dropped(args: ResourceValidationArgs, report: ReportViolation,
                               settings: Settings) -> None:
    # A configuration may narrow what the restricted standard allows, never widen it.
    allowed = set(map(_capability, settings["allowedCapabilities"])) & ADDABLE_CAPABILITIES
    for subject, container, _spec in _workload_containers(args):
        capabilities = mapping(dig(container, "securityContext", "capabilities"))
        if "ALL" not in items(capabilities.get("drop")):
            report(f"{subject} keeps the runtime's default capabilities. Set "
                   "securityContext.capabilities.drop: [ALL].")
        added = sorted(str(name) for name in items(capabilities.get("add"))
                       if _capability(name) not in allowed)
        if added:
            report(f"{subject} adds the capabilities {', '.join(added)}. Remove them from "
                   "securityContext.capabilities.add (allowed: "
                   f"{', '.join(sorted(allowed)) or 'none'}).")


def _capability(name: Any) -> str:
    """A capability as the kernel names it, without the CAP_ prefix the runtimes accept."""
    return str(name).upper().removeprefix("CAP_")


def check_read_only_root(args: ResourceValidationArgs, report: ReportViolation,
                         _: Settings) -> None:
    for subject, container, _spec in _workload_containers(args):
        if dig(container, "securityContext", "readOnlyRootFilesystem") is not True:
            report(f"{subject} can write to its root filesystem. Set "
                   "securityContext.readOnlyRootFilesystem: true and mount an emptyDir "
                   "where it must write.")


def check_requests_and_limits(args: ResourceValidationArgs, report: ReportViolation,
                              _: Settings) -> None:
    for subject, container, _spec in _workload_containers(args):
        missing = [f"{bound}.{resource}" for bound in ("requests", "limits")
                   for resource in ("cpu", "memory")
                   if _unset(dig(container, "resources", bound, resource))]
        if missing:
            report(f"{subject} has no resources.{', resources.'.join(missing)}. Set requests "
                   "and limits of cpu and memory on every container.")


def _unset(quantity: Any) -> bool:
    """A missing or zero quantity (a zero limit bounds nothing)."""
    return quantity is None or bool(ZERO_QUANTITY.match(str(quantity).strip()))


def check_images_pinned(args: ResourceValidationArgs, report: ReportViolation,
                        settings: Settings) -> None:
    for subject, container, _spec in _workload_containers(args):
        image = str(container.get("image") or "")
        problem = _image_problem(image, require_digest=settings["requireDigest"])
        if problem:
            report(f"{subject} uses the image '{image}', {problem}")


def _image_problem(image: str, *, require_digest: bool) -> str | None:
    if not image:
        return "which names no image. Set an image pinned to a version."
    has_digest = bool(DIGEST.search(image))
    tag = image.split("@", 1)[0][len(image_repository(image)) + 1:]
    if tag.lower() == "latest":
        return "tagged latest. Pin a version tag (and, in production, a @sha256: digest)."
    if not tag and not has_digest:
        return "without a tag, which means latest. Pin a version tag."
    if tag and FLOATING_TAG.search(tag) and not has_digest:
        return (f"whose tag '{tag}' names no version and moves. Pin a version tag "
                "(and, in production, a @sha256: digest).")
    if require_digest and not has_digest:
        return ("not pinned by digest. Append the full @sha256: digest (64 hex digits) "
                "your registry serves for this tag.")
    return None


def check_no_secrets_in_env(args: ResourceValidationArgs, report: ReportViolation,
                            _: Settings) -> None:
    for subject, container, _spec in _workload_containers(args):
        for variable in items(container.get("env")):
            name, value = str(dig(variable, "name") or ""), dig(variable, "value")
            if isinstance(value, str) and (secrets_in_text(value)
                                           or (secret_name(name) and plain(value))):
                report(f"{subject} sets the secret '{name}' as a plain env value. Store it in "
                       "a Secret and reference it with valueFrom.secretKeyRef.")
            elif secret_name(name) and dig(variable, "valueFrom", "configMapKeyRef"):
                report(f"{subject} reads the secret '{name}' from a ConfigMap. Store it in a "
                       "Secret and reference it with valueFrom.secretKeyRef.")
        found = secrets_in_words(words(container)) + [
            secret for handler in exec_words(container) for secret in secrets_in_words(handler)]
        if found:
            report(f"{subject} passes a secret on its command line "
                   f"({', '.join(sorted(set(found)))}). Pass it through an env variable "
                   "set with valueFrom.secretKeyRef and refer to it as $VARIABLE.")


def check_no_secrets_in_config_maps(args: ResourceValidationArgs, report: ReportViolation,
                                    _: Settings) -> None:
    if not is_a(args.resource_type, CONFIG_MAP):
        return
    subject = describe(args.resource_type, args.props, args.name)
    entries = [*mapping(args.props.get("data")).items(),
               *mapping(args.props.get("binaryData")).items()]
    for key, value in entries:
        if not (isinstance(value, str) and value):
            continue
        if secret_name(str(key)) and plain(value):
            report(f"{subject} holds a secret under the key '{key}'. Move it to a Secret "
                   "(created from a Pulumi secret) and mount or reference that instead.")
        elif secrets_in_text(value):
            report(f"{subject} holds a secret inside the key '{key}' "
                   f"({', '.join(sorted(set(secrets_in_text(value))))}). Move the file to a "
                   "Secret (created from a Pulumi secret) and mount that instead.")


def check_load_balancer_for_ingress(args: ResourceValidationArgs, report: ReportViolation,
                                    settings: Settings) -> None:
    allowed = list(settings["ingressNamespaces"])
    if dig(args.props, "metadata", "namespace") in allowed \
            or not is_a(args.resource_type, SERVICE):
        return
    subject = describe(args.resource_type, args.props, args.name)
    where = f"(allowed only in: {', '.join(allowed) or 'no namespace'})"
    kind_of_service = dig(args.props, "spec", "type")
    if kind_of_service in EXPOSING_SERVICE_TYPES:
        report(f"{subject} is of type {kind_of_service} outside the ingress controller's "
               f"namespace. Use type ClusterIP and expose it through an Ingress {where}.")
    if items(dig(args.props, "spec", "externalIPs")):
        report(f"{subject} takes traffic on external IPs outside the ingress controller's "
               f"namespace. Remove spec.externalIPs and expose it through an Ingress {where}.")


def check_ingress_tls(args: ResourceValidationArgs, report: ReportViolation,
                      settings: Settings) -> None:
    if not is_a(args.resource_type, INGRESS):
        return
    if not settings["required"]:
        args.not_applicable(f"TLS is not required in {settings['environment']}")
    subject = describe(args.resource_type, args.props, args.name)
    tls = items(dig(args.props, "spec", "tls"))
    covered = [str(host) for entry in tls for host in items(dig(entry, "hosts"))]
    hosts = [dig(rule, "host") for rule in items(dig(args.props, "spec", "rules"))]
    uncovered = sorted(str(host) for host in hosts if host and not _covered(str(host), covered))
    if not tls:
        report(f"{subject} serves plain HTTP. Add spec.tls with its hosts and a "
               "certificate secret (or a cert-manager issuer annotation).")
        return
    if uncovered:
        report(f"{subject} serves {', '.join(uncovered)} without TLS. List every rule's host "
               "in spec.tls.")
    if not all(hosts) or dig(args.props, "spec", "defaultBackend"):
        report(f"{subject} serves requests for any host (a rule without a host or a "
               "defaultBackend), which its certificate can't cover. Give every rule a host "
               "listed in spec.tls and remove spec.defaultBackend.")
    if any(not dig(entry, "secretName") for entry in tls):
        report(f"{subject} lists TLS hosts without a certificate secret, so the controller "
               "serves its fake default certificate. Set secretName on every spec.tls entry.")
    annotations = mapping(dig(args.props, "metadata", "annotations"))
    for annotation in PLAIN_HTTP_ANNOTATIONS:
        if str(annotations.get(annotation, "")).lower() == "false":
            report(f"{subject} keeps serving plain HTTP beside TLS ({annotation}: false). "
                   "Remove the annotation so that HTTP redirects to HTTPS.")


def _covered(host: str, tls_hosts: list[str]) -> bool:
    """Whether a TLS host list covers a host, a wildcard covering exactly one label."""
    return any(host == entry or (entry.startswith("*.") and "." in host
                                 and host.split(".", 1)[1] == entry[2:])
               for entry in tls_hosts)


def check_mlflow_auth(args: ResourceValidationArgs, report: ReportViolation,
                      settings: Settings) -> None:
    apps = list(settings["authApps"])
    for subject, container, _spec in _workload_containers(args):
        if any(app not in apps for app in mlflow_server_apps(container)):
            report(f"{subject} runs the MLflow server without authentication. Start it as "
                   f"`mlflow server --app-name {apps[0] if apps else 'basic-auth'}` (the "
                   "option last on that command line).")


def check_default_deny(args: StackValidationArgs, report: ReportViolation,
                       _: Settings) -> None:
    policies = [resource for resource in args.resources
                if is_a(resource.resource_type, NETWORK_POLICY)]
    denied = {str(dig(policy.props, "metadata", "namespace"))
              for policy in policies if _denies_all(policy.props)}
    for policy in policies:
        for direction in _opened(policy.props):
            report(f"{describe(policy.resource_type, policy.props, policy.name)} lets "
                   f"{direction} (a rule without peers, an empty namespaceSelector or a /0 "
                   "ipBlock), which undoes the default deny. Name the pods, namespaces or "
                   "CIDRs it must allow.", policy.urn)
    for resource in args.resources:
        if resource.resource_type != NAMESPACE:
            continue
        name = str(dig(resource.props, "metadata", "name") or resource.name)
        if name not in denied:
            report(f"Namespace '{name}' has no default-deny NetworkPolicy. Add one with "
                   "podSelector: {} and policyTypes [Ingress, Egress] and no rules, then allow "
                   "only the paths its pods need.", resource.urn)


def _denies_all(props: Mapping[str, Any]) -> bool:
    spec = mapping(props.get("spec"))
    selects_all = not mapping(spec.get("podSelector")) or \
        not any(mapping(spec.get("podSelector")).values())
    types = set(map(str, items(spec.get("policyTypes"))))
    return (selects_all and {"Ingress", "Egress"} <= types
            and not items(spec.get("ingress")) and not items(spec.get("egress")))


def _opened(props: Mapping[str, Any]) -> list[str]:
    """The directions a NetworkPolicy opens to everything."""
    spec = mapping(props.get("spec"))
    return [what for direction, peers, what in (("ingress", "from", "every source in"),
                                                ("egress", "to", "its pods reach anything"))
            if any(_open_rule(rule, peers) for rule in items(spec.get(direction)))]


def _open_rule(rule: Any, peers_key: str) -> bool:
    peers = items(dig(rule, peers_key))
    return not peers or any(_open_peer(mapping(peer)) for peer in peers)


def _open_peer(peer: Mapping[str, Any]) -> bool:
    cidr = str(dig(peer, "ipBlock", "cidr") or "")
    namespaces = peer.get("namespaceSelector")
    every_namespace = isinstance(namespaces, Mapping) and not any(namespaces.values())
    return cidr.endswith("/0") or (every_namespace
                                   and not any(mapping(peer.get("podSelector")).values()))


def check_pod_security_labels(args: ResourceValidationArgs, report: ReportViolation,
                              settings: Settings) -> None:
    if not is_a(args.resource_type, NAMESPACE):
        return
    allowed = list(settings["allowedLevels"])
    level = dig(args.props, "metadata", "labels", POD_SECURITY_ENFORCE_LABEL)
    if level not in allowed:
        found = f"'{level}'" if level else "no level"
        report(f"{describe(args.resource_type, args.props, args.name)} enforces {found} of "
               f"Pod Security. Set the label {POD_SECURITY_ENFORCE_LABEL}: "
               f"{allowed[0] if allowed else 'restricted'}.")


def _string_list(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


RULES = [
    Rule("containers-run-as-non-root",
         "Containers must run as a non-root user.", check_non_root),
    Rule("no-privilege-escalation",
         "Containers must not allow privilege escalation.", check_no_privilege_escalation),
    Rule("no-privileged-containers",
         "Containers must not run privileged or share the node's namespaces, ports or paths.",
         check_not_privileged),
    Rule("capabilities-dropped",
         "Containers must drop all Linux capabilities and add back only allowed ones.",
         check_capabilities_dropped,
         (Setting("allowedCapabilities", {**_string_list(
             "Capabilities a container may add (of those the restricted standard allows)."),
             "items": {"type": "string", "enum": sorted(ADDABLE_CAPABILITIES)}},
                  lambda _profile: []),)),
    Rule("read-only-root-filesystem",
         "Containers must run with a read-only root filesystem.", check_read_only_root),
    Rule("resource-requests-and-limits",
         "Every container must set cpu and memory requests and limits.",
         check_requests_and_limits),
    Rule("images-pinned",
         "Images must be pinned to a version, never latest, and by digest where required.",
         check_images_pinned,
         (Setting("requireDigest", {"type": "boolean",
                                    "description": "Require @sha256: digests on every image."},
                  lambda profile: profile.require_image_digests),)),
    Rule("no-secrets-in-env",
         "Secret values must come from Secrets, never from plain env values or command lines.",
         check_no_secrets_in_env),
    Rule("no-secrets-in-config-maps",
         "ConfigMaps must not hold secret values.", check_no_secrets_in_config_maps),
    Rule("load-balancer-only-for-ingress",
         "Only the ingress controller's Services may be exposed on nodes or load balancers.",
         check_load_balancer_for_ingress,
         (Setting("ingressNamespaces",
                  _string_list("Namespaces whose Services may be LoadBalancers."),
                  lambda _profile: ["ingress-nginx"]),)),
    Rule("ingress-tls",
         "Ingresses must serve every host over TLS where the environment requires it.",
         check_ingress_tls,
         (flag("Require TLS on every Ingress.", lambda profile: profile.require_ingress_tls),)),
    Rule("mlflow-auth-enabled",
         "The MLflow tracking server must run with authentication.", check_mlflow_auth,
         (Setting("authApps", _string_list("MLflow --app-name values that authenticate."),
                  lambda _profile: ["basic-auth", "champion-guard"]),)),
    Rule("default-deny-network-policy",
         "Every namespace the stack creates must have a default-deny NetworkPolicy that no "
         "other policy opens to all.",
         check_default_deny, stack=True),
    Rule("pod-security-labels",
         "Namespaces must enforce a Pod Security Standard level.", check_pod_security_labels,
         (Setting("allowedLevels", _string_list("Pod Security levels a namespace may enforce."),
                  lambda _profile: ["restricted"]),)),
]
