"""Human approvals of a model version: recorded bound to the version, verified by the gate.

An approval names the version, the approver and where the approver's identity comes
from. In CI the identity is the CI platform's, never a typed name: GitHub Actions'
GITHUB_ACTOR (who dispatched the approval job, which a protected environment with
required reviewers guards), GitLab CI's GITLAB_USER_LOGIN (who started the manual job of
a protected environment). Outside CI it is `--by`, which the platform's rules accept only
where a self-declared name is enough (local, dev). The gate accepts an approval only when
its audit record is in the chain, it names this version, its identity source is allowed in
the environment, and the approver is neither the promoter, nor the run's author (a tracking
account), nor the person who trained it (the CI platform's person of the training job, which
the run records in `lineage.trained_by`).
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_platform import contract as ml_contract
from mlops_platform.client.registry import VersionFacts, resolve_version
from mlops_platform.governance import audit_log

if TYPE_CHECKING:
    from mlflow import MlflowClient

TAG_APPROVAL_RECORD = ml_contract.TAG_APPROVAL_RECORD
LOCAL_SOURCE = "local"
RUN_AUTHOR_TAG = "mlflow.user"
# CI platform -> (the variable that says we run there, the variable naming who acts, details).
CI_IDENTITIES = {
    "github-actions": ("GITHUB_ACTIONS", "GITHUB_ACTOR",
                       ("GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_WORKFLOW_REF",
                        "GITHUB_EVENT_NAME")),
    "gitlab-ci": ("GITLAB_CI", "GITLAB_USER_LOGIN",
                  ("CI_PROJECT_PATH", "CI_JOB_ID", "CI_JOB_URL", "CI_ENVIRONMENT_NAME")),
}


class ApprovalError(ValueError):
    """The approval cannot be recorded as asked; the message says what to give instead."""


@dataclass(frozen=True)
class Identity:
    name: str
    source: str
    evidence: dict[str, str]


def ci_identity(environ: Mapping[str, str] = os.environ) -> Identity | None:
    """The person the CI platform says runs this job, or None outside CI."""
    for source, (flag, actor_variable, evidence) in CI_IDENTITIES.items():
        if environ.get(flag) != "true":
            continue
        actor = environ.get(actor_variable, "").strip()
        if not actor:
            raise ApprovalError(f"running in {source} but {actor_variable} is empty: the "
                                "identity must come from the CI platform")
        return Identity(actor, source, {name: environ[name] for name in evidence
                                        if environ.get(name)})
    return None


def trainer_identity(environ: Mapping[str, str] = os.environ) -> Identity:
    """Who trains: the CI platform's person in CI, else this machine's login name (the run's
    tag `lineage.trained_by`, which the gate compares with the approver)."""
    return ci_identity(environ) or Identity(_login_name(), LOCAL_SOURCE, {})


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a user id without a passwd entry (some containers)
        return f"uid-{os.getuid()}"


def approver_identity(by: str | None, environ: Mapping[str, str] = os.environ) -> Identity:
    """Who approves: the CI platform's identity in CI, else the name given with --by."""
    typed = (by or "").strip()
    in_ci = ci_identity(environ)
    if in_ci is not None:
        if typed and typed != in_ci.name:
            raise ApprovalError(f"--by {typed} differs from the CI identity {in_ci.name} "
                                f"({in_ci.source}): in CI the approver is who runs the job")
        return in_ci
    if not typed:
        raise ApprovalError("--by is empty: name who approves, e.g. --by alice "
                            "(make approve APPROVER=alice)")
    return Identity(typed, LOCAL_SOURCE, {})


def approve(client: MlflowClient, model_name: str, version: str | None, by: str | None,
            log_file: Path, environ: Mapping[str, str] = os.environ) -> audit_log.AuditRecord:
    """Record the approval of `version` (default: the challenger) in the log and registry."""
    identity = approver_identity(by, environ)
    version = resolve_version(client, model_name, version)
    record = audit_log.AuditRecord(
        action="approval", outcome="approved", model_name=model_name, version=version,
        actor=identity.name, at=audit_log.now(), reasons=[f"approved by {identity.name}"],
        details={"identity_source": identity.source, "evidence": identity.evidence,
                 "recorded_by": audit_log.current_actor()})
    entry = audit_log.append(log_file, record)
    binding = {"version": version, "approver": identity.name, "source": identity.source,
               "record": audit_log.reference(entry)}
    audit_log.record_in_registry(client, entry, {
        ml_contract.TAG_APPROVED_BY: identity.name, ml_contract.TAG_APPROVED_AT: record.at,
        TAG_APPROVAL_RECORD: json.dumps(binding, sort_keys=True)})
    return record


def approval_problem(candidate: VersionFacts, entries: list[dict[str, Any]], promoter: str,
                     allowed_sources: tuple[str, ...]) -> tuple[str | None, str]:
    """(the approver, '') when the version carries a valid approval, else (None, why not)."""
    try:
        binding = json.loads(candidate.tags.get(TAG_APPROVAL_RECORD) or "null")
    except json.JSONDecodeError:
        binding = None
    if not isinstance(binding, dict):
        return None, "no approval recorded"
    approver, source = str(binding.get("approver")), str(binding.get("source"))
    if str(binding.get("version")) != candidate.version:
        return None, (f"the approval names version {binding.get('version')}, not "
                      f"{candidate.version}: it was copied from another version")
    if not any(audit_log.reference(entry) == binding.get("record")
               and (entry["action"], entry["model_name"], entry["version"], entry["actor"])
               == ("approval", candidate.model_name, candidate.version, approver)
               for entry in entries):
        return None, (f"the approval by {approver} has no matching record in the audit log "
                      f"(record {binding.get('record')}): it was not made with `mlops-policy "
                      "approve`")
    if source not in allowed_sources:
        return None, (f"the approval by {approver} comes from identity source {source}, which "
                      f"this environment does not accept (accepted: {', '.join(allowed_sources)})")
    if approver == promoter:
        return None, f"{approver} approved and promotes: the approver must be someone else"
    if approver == candidate.tags.get(RUN_AUTHOR_TAG):
        return None, (f"{approver} is the author of run {candidate.run_id}: the approver must "
                      "be someone else")
    if approver == candidate.tags.get(ml_contract.TAG_TRAINED_BY):
        return None, (f"{approver} started the training of version {candidate.version} (run "
                      f"{candidate.run_id}, tag {ml_contract.TAG_TRAINED_BY}): the approval "
                      "must come from another person")
    return approver, ""
