"""Which environment a stack is, and what each environment demands by default.

A policy's thresholds come from its configuration; whatever the configuration
leaves out comes from the profile of the environment. The environment is the
configuration's `environment` key, else the stack's name (`dev`, `staging`,
`prod`, or `<org>/prod`), else the strictest one: an unknown stack is treated as
production rather than let through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class Profile:
    """What one environment demands when a policy's configuration does not say."""

    enforcement: str
    require_image_digests: bool
    require_ingress_tls: bool
    prod_reliability: bool
    min_replicas: int
    require_model_approval: bool


PROFILES: dict[str, Profile] = {
    "dev": Profile(enforcement="advisory", require_image_digests=False,
                   require_ingress_tls=False, prod_reliability=False, min_replicas=1,
                   require_model_approval=False),
    "staging": Profile(enforcement="mandatory", require_image_digests=False,
                       require_ingress_tls=True, prod_reliability=False, min_replicas=1,
                       require_model_approval=False),
    "prod": Profile(enforcement="mandatory", require_image_digests=True,
                    require_ingress_tls=True, prod_reliability=True, min_replicas=2,
                    require_model_approval=True),
}
STRICTEST = "prod"
ENVIRONMENT_KEY = "environment"


def environment_of(config: Mapping[str, Any]) -> str:
    configured = config.get(ENVIRONMENT_KEY)
    if configured in PROFILES:
        return configured
    stack = _stack_name().rsplit("/", 1)[-1]
    return stack if stack in PROFILES else STRICTEST


def profile_of(config: Mapping[str, Any]) -> Profile:
    return PROFILES[environment_of(config)]


def _stack_name() -> str:
    # Outside an engine run the SDK answers a placeholder ("stack"): strictest profile.
    return pulumi.get_stack() or ""
