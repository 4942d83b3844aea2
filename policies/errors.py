"""The errors that mean "the input cannot be used": the CLI prints them and exits 2."""

from __future__ import annotations

from infra.outputs import PlatformOutputsError
from policies.approvals import ApprovalError
from policies.project import ProjectError
from policies.promotion_gate import GateConfigError
from policies.registry import RegistryError
from policies.tracking import TrackingServerError

USER_ERRORS: tuple[type[Exception], ...] = (
    ApprovalError, GateConfigError, PlatformOutputsError, ProjectError, RegistryError,
    TrackingServerError, ValueError,
)
