"""Recording a human approval of a model version (required by the gate at level 2 / prod)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlops_platform import contract as ml_contract
from mlops_platform.governance import audit_log
from mlops_platform.governance.registry import resolve_version

if TYPE_CHECKING:
    from mlflow import MlflowClient


class ApprovalError(ValueError):
    """The approval cannot be recorded as asked; the message says what to give instead."""


def approve(client: MlflowClient, model_name: str, version: str | None, by: str,
            log_file: Path) -> audit_log.AuditRecord:
    """Tag the version (default: the challenger) as approved by `by` and log it."""
    approver = by.strip()
    if not approver:
        raise ApprovalError("--by is empty: name who approves, e.g. --by alice "
                            "(make approve APPROVER=alice)")
    version = resolve_version(client, model_name, version)
    record = audit_log.AuditRecord(action="approval", outcome="approved", model_name=model_name,
                                   version=version, actor=approver, at=audit_log.now(),
                                   reasons=[f"approved by {approver}"],
                                   details={"recorded_by": audit_log.current_actor()})
    client.set_model_version_tag(model_name, version, ml_contract.TAG_APPROVED_BY, approver)
    client.set_model_version_tag(model_name, version, ml_contract.TAG_APPROVED_AT, record.at)
    audit_log.append(log_file, record)
    return record
