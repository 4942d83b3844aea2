"""The restricted Pod Security Standard beyond users, privileges and capabilities.

Each rule judges every container (init and ephemeral ones too) by its effective
setting: its own, else its pod's, as the kubelet applies them; and the pod-level
setting on its own where the standard checks that level too. The allowed values are
data, in `restricted.py`. A pod spec is found wherever the object keeps one: known
kinds at their place, unknown kinds at `spec.template` or `spec.jobTemplate`; a pod
spec anywhere else is itself a finding (`pod-templates-readable`), so a kind the pack
cannot read fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from . import restricted
from .kubernetes import (
    describe,
    dig,
    effective_security,
    items,
    known_items,
    mapping,
    named_containers,
    pod_metadata,
    pod_spec,
    pod_spec_path,
    pod_specs_elsewhere,
)
from .rule import Rule, Settings


def check_seccomp(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    for subject, container, spec in named_containers(args.resource_type, args.props, args.name):
        profile = dig(mapping(effective_security(container, spec, "seccompProfile")), "type")
        if profile not in restricted.SECCOMP_TYPES:
            found = f"the seccomp profile '{profile}'" if profile else "no seccomp profile"
            report(f"{subject} runs with {found} (its own, else its pod's). Set "
                   "securityContext.seccompProfile.type: RuntimeDefault on the pod and remove "
                   "any container's override.")
    subject = describe(args.resource_type, args.props, args.name)
    # The standard judges the pod's own profile too, even when every container overrides it.
    pod_profile = dig(pod_spec(args.resource_type, args.props), "securityContext",
                      "seccompProfile", "type")
    if pod_profile is not None and pod_profile not in restricted.SECCOMP_TYPES:
        report(f"{subject} sets the pod's seccomp profile '{pod_profile}'. Set it to "
               "RuntimeDefault (or Localhost).")
    for key, value in _profile_annotations(args, restricted.SECCOMP_ANNOTATIONS):
        if value not in restricted.SECCOMP_ANNOTATION_VALUES:
            report(f"{subject} annotates its pods with {key}: {value}. Remove the annotation "
                   "and set securityContext.seccompProfile.type: RuntimeDefault.")


def _profile_annotations(args: ResourceValidationArgs, prefixes: tuple[str, ...]
                         ) -> list[tuple[str, str]]:
    """The older per-pod and per-container profile annotations on the object's pods."""
    annotations = pod_metadata(args.resource_type, args.props).get("annotations")
    return [(key, str(value)) for key, value in known_items(annotations)
            if key.startswith(prefixes)]


def check_volume_types(args: ResourceValidationArgs, report: ReportViolation,
                       _: Settings) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    for volume in items(spec.get("volumes")):
        # hostPath is no-privileged-containers' finding: one flaw, one policy.
        sources = sorted(key for key in mapping(volume)
                         if key not in ("name", "hostPath")
                         and key not in restricted.VOLUME_TYPES)
        if sources:
            report(f"{describe(args.resource_type, args.props, args.name)} mounts a "
                   f"{', '.join(sources)} volume ('{dig(volume, 'name')}'). Use "
                   f"{', '.join(sorted(restricted.VOLUME_TYPES))} volumes only (the "
                   "restricted Pod Security Standard).")


def check_proc_mount(args: ResourceValidationArgs, report: ReportViolation,
                     _: Settings) -> None:
    for subject, container, _spec in named_containers(args.resource_type, args.props,
                                                      args.name):
        proc_mount = dig(container, "securityContext", "procMount")
        if proc_mount is not None and proc_mount != restricted.PROC_MOUNT:
            report(f"{subject} mounts /proc as '{proc_mount}', unmasked. Remove "
                   "securityContext.procMount (or set it to Default).")


def check_sysctls(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    spec = pod_spec(args.resource_type, args.props)
    names = [str(dig(sysctl, "name")) for sysctl in
             items(dig(spec, "securityContext", "sysctls"))]
    unsafe = sorted(name for name in names
                    if name.replace("/", ".") not in restricted.SAFE_SYSCTLS)
    if unsafe:
        report(f"{describe(args.resource_type, args.props, args.name)} sets the sysctls "
               f"{', '.join(unsafe)}, which reach beyond the pod. Set only "
               f"{', '.join(sorted(restricted.SAFE_SYSCTLS))}.")


def check_apparmor(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    spec = pod_spec(args.resource_type, args.props)
    for subject, context in _security_contexts(args, spec):
        profile = dig(context, "appArmorProfile", "type")
        if profile is not None and profile not in restricted.APPARMOR_TYPES:
            report(f"{subject} sets the AppArmor profile '{profile}'. Remove "
                   "appArmorProfile or set its type to RuntimeDefault.")
    subject = describe(args.resource_type, args.props, args.name)
    for key, value in _profile_annotations(args, (restricted.APPARMOR_ANNOTATION,)):
        if value not in restricted.APPARMOR_ANNOTATION_VALUES \
                and not value.startswith(restricted.APPARMOR_ANNOTATION_PREFIX):
            report(f"{subject} annotates its pods with {key}: {value}. Remove the annotation "
                   "and set securityContext.appArmorProfile.type: RuntimeDefault.")


def check_selinux(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    spec = pod_spec(args.resource_type, args.props)
    for subject, context in _security_contexts(args, spec):
        options = mapping(context.get("seLinuxOptions"))
        loosened = [f"{field} '{options[field]}'" for field in restricted.SELINUX_FORBIDDEN
                    if options.get(field)]
        if options.get("type") and options["type"] not in restricted.SELINUX_TYPES:
            loosened.append(f"type '{options['type']}'")
        if loosened:
            report(f"{subject} sets the SELinux {', '.join(loosened)}. Remove them from "
                   "seLinuxOptions (a type may only be "
                   f"{', '.join(sorted(restricted.SELINUX_TYPES))}).")


def _security_contexts(args: ResourceValidationArgs, spec: Mapping[str, Any] | None
                       ) -> list[tuple[str, Mapping[str, Any]]]:
    """The pod's security context and every container's, each with its name for messages."""
    if spec is None:
        return []
    pod = (f"The pod of {describe(args.resource_type, args.props, args.name)}",
           mapping(spec.get("securityContext")))
    return [pod, *((subject, mapping(container.get("securityContext"))) for subject, container, _
                   in named_containers(args.resource_type, args.props, args.name))]


def check_pod_templates_readable(args: ResourceValidationArgs, report: ReportViolation,
                                 _: Settings) -> None:
    readable = pod_spec_path(args.resource_type, args.props)
    for where in pod_specs_elsewhere(args.props, readable):
        report(f"{describe(args.resource_type, args.props, args.name)} carries containers at "
               f"{where}, where the pack does not read pods, so no pod rule judged them. Keep "
               "the pod template at spec.template (or spec.jobTemplate.spec.template), or "
               "teach the pack the kind's place in POD_SPEC_PATHS.")


RULES = [
    Rule("seccomp-profile-restricted",
         "Every container's effective seccomp profile must be RuntimeDefault or Localhost.",
         check_seccomp),
    Rule("volume-types-restricted",
         "Pods may mount only the volume types the restricted Pod Security Standard allows.",
         check_volume_types),
    Rule("proc-mount-default",
         "Containers must keep the default, masked /proc mount.", check_proc_mount),
    Rule("sysctls-safe",
         "Pods may set only the sysctls the Pod Security Standards call safe.", check_sysctls),
    Rule("apparmor-not-loosened",
         "Pods and containers must not set an AppArmor profile other than the runtime's "
         "default or a local one.", check_apparmor),
    Rule("selinux-not-loosened",
         "Pods and containers must not set an SELinux user, role or non-container type.",
         check_selinux),
    Rule("pod-templates-readable",
         "Every pod an object carries must sit where the pack reads pods, or the object fails.",
         check_pod_templates_readable),
]
