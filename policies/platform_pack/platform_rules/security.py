"""Security rules: hardened containers, pinned images, no plaintext secrets, guarded edges."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from .conventions import POD_SECURITY_ENFORCE_LABEL
from .kubernetes import (
    CONFIG_MAP,
    INGRESS,
    NAMESPACE,
    NETWORK_POLICY,
    SERVICE,
    command_line,
    containers,
    describe,
    dig,
    effective_security,
    items,
    mapping,
    pod_spec,
)
from .roles import image_repository, is_tracking_server, runs_mlflow_server
from .rule import Rule, Setting, Settings, flag

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|"
                         r"CREDENTIAL", re.IGNORECASE)
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
DIGEST = "@sha256:"


def _workload_containers(args: ResourceValidationArgs
                         ) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(what to call it in a message, container, pod spec) for every container of a workload."""
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    subject = describe(args.resource_type, args.props, args.name)
    for container in containers(spec):
        yield f"Container '{container.get('name', '?')}' of {subject}", container, spec


def check_non_root(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    for subject, container, spec in _workload_containers(args):
        if effective_security(container, spec, "runAsNonRoot") is not True:
            report(f"{subject} may run as root. Set securityContext.runAsNonRoot: true "
                   "(on the container or the pod) and a non-zero runAsUser.")
        elif effective_security(container, spec, "runAsUser") == 0:
            report(f"{subject} sets runAsUser 0 (root). Set runAsUser to a non-zero UID.")


def check_no_privilege_escalation(args: ResourceValidationArgs, report: ReportViolation,
                                  _: Settings) -> None:
    for subject, container, _spec in _workload_containers(args):
        if dig(container, "securityContext", "allowPrivilegeEscalation") is not False:
            report(f"{subject} allows privilege escalation. Set "
                   "securityContext.allowPrivilegeEscalation: false on the container.")


def check_not_privileged(args: ResourceValidationArgs, report: ReportViolation,
                         _: Settings) -> None:
    for subject, container, _spec in _workload_containers(args):
        if dig(container, "securityContext", "privileged") is True:
            report(f"{subject} is privileged. Remove securityContext.privileged or set it "
                   "to false.")


def check_capabilities_dropped(args: ResourceValidationArgs, report: ReportViolation,
                               settings: Settings) -> None:
    allowed = set(settings["allowedCapabilities"])
    for subject, container, _spec in _workload_containers(args):
        capabilities = mapping(dig(container, "securityContext", "capabilities"))
        if "ALL" not in items(capabilities.get("drop")):
            report(f"{subject} keeps the runtime's default capabilities. Set "
                   "securityContext.capabilities.drop: [ALL].")
        added = sorted(set(map(str, items(capabilities.get("add")))) - allowed)
        if added:
            report(f"{subject} adds the capabilities {', '.join(added)}. Remove them from "
                   "securityContext.capabilities.add (allowed: "
                   f"{', '.join(sorted(allowed)) or 'none'}).")


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
                   if dig(container, "resources", bound, resource) in (None, "")]
        if missing:
            report(f"{subject} has no resources.{', resources.'.join(missing)}. Set requests "
                   "and limits of cpu and memory on every container.")


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
    has_digest = DIGEST in image
    tag = image.split("@", 1)[0][len(image_repository(image)) + 1:]
    if tag == "latest":
        return "tagged latest. Pin a version tag (and, in production, a @sha256: digest)."
    if not tag and not has_digest:
        return "without a tag, which means latest. Pin a version tag."
    if require_digest and not has_digest:
        return ("not pinned by digest. Append the @sha256: digest your registry serves "
                "for this tag.")
    return None


def check_no_secrets_in_env(args: ResourceValidationArgs, report: ReportViolation,
                            _: Settings) -> None:
    for subject, container, _spec in _workload_containers(args):
        for variable in items(container.get("env")):
            name, value = str(dig(variable, "name") or ""), dig(variable, "value")
            if isinstance(value, str) and value and _looks_secret(name, value):
                report(f"{subject} sets the secret '{name}' as a plain env value. Store it in "
                       "a Secret and reference it with valueFrom.secretKeyRef.")


def check_no_secrets_in_config_maps(args: ResourceValidationArgs, report: ReportViolation,
                                    _: Settings) -> None:
    if args.resource_type != CONFIG_MAP:
        return
    subject = describe(args.resource_type, args.props, args.name)
    for key, value in mapping(args.props.get("data")).items():
        if isinstance(value, str) and value and _looks_secret(str(key), value):
            report(f"{subject} holds a secret under the key '{key}'. Move it to a Secret "
                   "(created from a Pulumi secret) and mount or reference that instead.")


def _looks_secret(name: str, value: str) -> bool:
    return bool(SECRET_NAME.search(name) or CREDENTIALS_IN_URL.search(value))


def check_load_balancer_for_ingress(args: ResourceValidationArgs, report: ReportViolation,
                                    settings: Settings) -> None:
    if args.resource_type != SERVICE or dig(args.props, "spec", "type") != "LoadBalancer":
        return
    allowed = list(settings["ingressNamespaces"])
    namespace = dig(args.props, "metadata", "namespace")
    if namespace not in allowed:
        report(f"{describe(args.resource_type, args.props, args.name)} is of type LoadBalancer "
               "outside the ingress controller's namespace. Use type ClusterIP and expose it "
               f"through an Ingress (LoadBalancers allowed in: {', '.join(allowed)}).")


def check_ingress_tls(args: ResourceValidationArgs, report: ReportViolation,
                      settings: Settings) -> None:
    if args.resource_type != INGRESS:
        return
    if not settings["required"]:
        args.not_applicable(f"TLS is not required in {settings['environment']}")
    subject = describe(args.resource_type, args.props, args.name)
    tls = items(dig(args.props, "spec", "tls"))
    covered = {host for entry in tls for host in items(dig(entry, "hosts"))}
    hosts = [dig(rule, "host") for rule in items(dig(args.props, "spec", "rules"))]
    uncovered = sorted(str(host) for host in hosts if host and host not in covered)
    if not tls:
        report(f"{subject} serves plain HTTP. Add spec.tls with its hosts and a "
               "certificate secret (or a cert-manager issuer annotation).")
    elif uncovered:
        report(f"{subject} serves {', '.join(uncovered)} without TLS. List every rule's host "
               "in spec.tls.")


def check_mlflow_auth(args: ResourceValidationArgs, report: ReportViolation,
                      settings: Settings) -> None:
    if not is_tracking_server(args.resource_type, args.props):
        return
    apps = list(settings["authApps"])
    spec = pod_spec(args.resource_type, args.props) or {}
    for container in containers(spec):
        words = command_line(container)
        if runs_mlflow_server(words) and _app_name(words) not in apps:
            report(f"Container '{container.get('name', '?')}' of "
                   f"{describe(args.resource_type, args.props, args.name)} runs the MLflow "
                   "server without authentication. Add `--app-name "
                   f"{apps[0] if apps else 'basic-auth'}` to its command.")


def _app_name(words: list[str]) -> str | None:
    for index, word in enumerate(words):
        if word == "--app-name" and index + 1 < len(words):
            return words[index + 1]
        if word.startswith("--app-name="):
            return word.split("=", 1)[1]
    return None


def check_default_deny(args: StackValidationArgs, report: ReportViolation,
                       _: Settings) -> None:
    denied = {str(dig(resource.props, "metadata", "namespace"))
              for resource in args.resources
              if resource.resource_type == NETWORK_POLICY and _denies_all(resource.props)}
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


def check_pod_security_labels(args: ResourceValidationArgs, report: ReportViolation,
                              settings: Settings) -> None:
    if args.resource_type != NAMESPACE:
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
         "Containers must not run privileged.", check_not_privileged),
    Rule("capabilities-dropped",
         "Containers must drop all Linux capabilities and add back only allowed ones.",
         check_capabilities_dropped,
         (Setting("allowedCapabilities", _string_list("Capabilities a container may add."),
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
         "Secret values must come from Secrets, never from plain env values.",
         check_no_secrets_in_env),
    Rule("no-secrets-in-config-maps",
         "ConfigMaps must not hold secret values.", check_no_secrets_in_config_maps),
    Rule("load-balancer-only-for-ingress",
         "Only the ingress controller may be exposed through a LoadBalancer Service.",
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
                  lambda _profile: ["basic-auth"]),)),
    Rule("default-deny-network-policy",
         "Every namespace the stack creates must have a default-deny NetworkPolicy.",
         check_default_deny, stack=True),
    Rule("pod-security-labels",
         "Namespaces must enforce a Pod Security Standard level.", check_pod_security_labels,
         (Setting("allowedLevels", _string_list("Pod Security levels a namespace may enforce."),
                  lambda _profile: ["restricted"]),)),
]
