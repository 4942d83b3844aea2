"""Reliability rules, demanded in production: replicas, disruption budgets, probes, storage,
backups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from .commands import invocations
from .kubernetes import (
    CRON_JOB,
    HPA,
    LONG_RUNNING,
    PDB,
    PVC,
    STATEFUL_SET,
    app_containers,
    containers,
    describe,
    dig,
    is_a,
    items,
    kind,
    labels_match,
    mapping,
    pod_spec,
)
from .roles import is_model_server, is_tracking_server, runs_postgres
from .rule import Rule, Setting, Settings, flag

PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
BACKUP_PROGRAMS = {"pg_dump", "pg_dumpall", "pg_basebackup"}


def _skip_unless_required(args: ResourceValidationArgs | StackValidationArgs,
                          settings: Settings) -> None:
    if not settings["required"]:
        args.not_applicable(f"not required in {settings['environment']}")


def _role(resource_type: str, props: Mapping[str, Any]) -> str | None:
    if is_tracking_server(resource_type, props):
        return "tracking server"
    if is_model_server(resource_type, props):
        return "model server"
    return None


def check_minimum_replicas(args: StackValidationArgs, report: ReportViolation,
                           settings: Settings) -> None:
    minimum = int(settings["minReplicas"])
    autoscalers = [resource for resource in args.resources if is_a(resource.resource_type, HPA)]
    for resource in args.resources:
        role = _role(resource.resource_type, resource.props)
        if role is None:
            continue
        subject = describe(resource.resource_type, resource.props, resource.name)
        count = _count(dig(resource.props, "spec", "replicas"))
        if count < minimum:
            report(f"{subject} is a {role} with {count} replica(s); "
                   f"{settings['environment']} needs at least {minimum}. Set spec.replicas "
                   f"to {minimum} or more (the stack's replicas setting).", resource.urn)
        for autoscaler in autoscalers:
            floor = _count(dig(autoscaler.props, "spec", "minReplicas"))
            if _scales(autoscaler, resource) and floor < minimum:
                report(f"{subject} is a {role} that "
                       f"{describe(autoscaler.resource_type, autoscaler.props, autoscaler.name)}"
                       f" may scale down to {floor} replica(s); {settings['environment']} "
                       f"needs at least {minimum}. Set the autoscaler's minReplicas to "
                       f"{minimum} or more.", autoscaler.urn)


def _count(replicas: Any) -> int:
    """A replica count as Kubernetes defaults it: absent or unreadable means 1."""
    return int(replicas) if isinstance(replicas, int | float) else 1


def _scales(autoscaler: PolicyResource, workload: PolicyResource) -> bool:
    target = mapping(dig(autoscaler.props, "spec", "scaleTargetRef"))
    return (dig(autoscaler.props, "metadata", "namespace")
            == dig(workload.props, "metadata", "namespace")
            and target.get("kind") == kind(workload.resource_type).removesuffix("Patch")
            and target.get("name") == dig(workload.props, "metadata", "name"))


def check_pod_disruption_budget(args: StackValidationArgs, report: ReportViolation,
                                settings: Settings) -> None:
    _skip_unless_required(args, settings)
    budgets = [resource for resource in args.resources
               if is_a(resource.resource_type, PDB) and _protects(resource)]
    for resource in args.resources:
        role = _role(resource.resource_type, resource.props)
        if role is None:
            continue
        if not any(_budget_covers(budget, resource) for budget in budgets):
            report(f"{describe(resource.resource_type, resource.props, resource.name)} is a "
                   f"{role} without a PodDisruptionBudget that keeps a pod up. Add one in "
                   "its namespace whose selector matches its pod labels (e.g. minAvailable: "
                   "1).", resource.urn)


def _protects(budget: PolicyResource) -> bool:
    """A budget that lets every pod go at once protects nothing."""
    spec = mapping(dig(budget.props, "spec"))
    return not (str(spec.get("minAvailable")) in ("0", "0.0", "0%")
                or str(spec.get("maxUnavailable")) == "100%")


def _budget_covers(budget: PolicyResource, workload: PolicyResource) -> bool:
    same_namespace = (dig(budget.props, "metadata", "namespace")
                      == dig(workload.props, "metadata", "namespace"))
    labels = mapping(dig(workload.props, "spec", "template", "metadata", "labels"))
    return same_namespace and labels_match(mapping(dig(budget.props, "spec", "selector")),
                                           labels)


def check_probes(args: ResourceValidationArgs, report: ReportViolation,
                 settings: Settings) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if not is_a(args.resource_type, *LONG_RUNNING) or spec is None:
        return
    _skip_unless_required(args, settings)
    subject = describe(args.resource_type, args.props, args.name)
    for container in app_containers(spec):
        missing = [probe for probe in ("readinessProbe", "livenessProbe")
                   if not any(mapping(dig(container, probe, handler))
                              for handler in PROBE_HANDLERS)]
        if missing:
            report(f"Container '{container.get('name', '?')}' of {subject} has no "
                   f"{' and no '.join(missing)} that checks anything. Add them (with an "
                   "httpGet, tcpSocket, grpc or exec check) so that traffic only reaches "
                   "ready pods and hung ones restart.")


def check_storage_class(args: ResourceValidationArgs, report: ReportViolation,
                        settings: Settings) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if is_a(args.resource_type, PVC):
        claims = [args.props]
    elif spec is not None:
        claims = [*(items(dig(args.props, "spec", "volumeClaimTemplates"))
                    if is_a(args.resource_type, STATEFUL_SET) else []),
                  *(dig(volume, "ephemeral", "volumeClaimTemplate")
                    for volume in items(spec.get("volumes"))
                    if dig(volume, "ephemeral", "volumeClaimTemplate"))]
        if not claims:
            return
    else:
        return
    _skip_unless_required(args, settings)
    subject = describe(args.resource_type, args.props, args.name)
    for claim in claims:
        if not dig(claim, "spec", "storageClassName"):
            report(f"Volume claim '{dig(claim, 'metadata', 'name') or '?'}' of {subject} has "
                   "no storageClassName, so it gets whatever the cluster's default is. Name "
                   "the StorageClass (the stack's storage_class setting).")


def check_database_backups(args: StackValidationArgs, report: ReportViolation,
                           settings: Settings) -> None:
    _skip_unless_required(args, settings)
    backed_up = {str(dig(resource.props, "metadata", "namespace"))
                 for resource in args.resources
                 if is_a(resource.resource_type, CRON_JOB) and _dumps_postgres(resource)}
    for resource in args.resources:
        if not runs_postgres(resource.resource_type, resource.props):
            continue
        if str(dig(resource.props, "metadata", "namespace")) not in backed_up:
            report(f"{describe(resource.resource_type, resource.props, resource.name)} runs "
                   "PostgreSQL without a backup. Add a CronJob in its namespace that runs "
                   "pg_dump to durable storage (the stack's database_backup_schedule).",
                   resource.urn)


def _dumps_postgres(cron_job: PolicyResource) -> bool:
    """Whether a CronJob that is not suspended runs pg_dump (not merely mentions it)."""
    if dig(cron_job.props, "spec", "suspend") is True:
        return False
    spec = pod_spec(cron_job.resource_type, cron_job.props) or {}
    return any(invocation[0] in BACKUP_PROGRAMS
               for container in containers(spec) for invocation in invocations(container))


RULES = [
    Rule("minimum-replicas",
         "The tracking server and model servers must run enough replicas for the environment.",
         check_minimum_replicas,
         (Setting("minReplicas", {"type": "integer", "minimum": 1,
                                  "description": "Fewest replicas of tracking and serving."},
                  lambda profile: profile.min_replicas),), stack=True),
    Rule("pod-disruption-budget",
         "The tracking server and model servers must have a PodDisruptionBudget.",
         check_pod_disruption_budget,
         (flag("Require the budgets.", lambda profile: profile.prod_reliability),), stack=True),
    Rule("health-probes",
         "Long-running containers must have readiness and liveness probes.", check_probes,
         (flag("Require the probes.", lambda profile: profile.prod_reliability),)),
    Rule("pvc-storage-class",
         "Persistent volume claims must name their StorageClass.", check_storage_class,
         (flag("Require a storage class.", lambda profile: profile.prod_reliability),)),
    Rule("database-backups",
         "An in-cluster PostgreSQL must be backed up by a scheduled dump.",
         check_database_backups,
         (flag("Require the backups.", lambda profile: profile.prod_reliability),), stack=True),
]
