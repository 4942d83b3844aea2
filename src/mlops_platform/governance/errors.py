"""The errors that mean "the input cannot be used": the CLI prints them and exits 2."""

from __future__ import annotations

from mlops_platform.client.platform_rules import PlatformRulesError
from mlops_platform.client.project import ProjectError
from mlops_platform.client.registry import RegistryError
from mlops_platform.client.tracking import TrackingServerError
from mlops_platform.contract import PlatformOutputsError
from mlops_platform.governance.approvals import ApprovalError
from mlops_platform.governance.audit_log import AuditLogError
from mlops_platform.params import ParamsError

USER_ERRORS: tuple[type[Exception], ...] = (
    ApprovalError, AuditLogError, ParamsError, PlatformOutputsError, PlatformRulesError,
    ProjectError, RegistryError, TrackingServerError, ValueError,
)
