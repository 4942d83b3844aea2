"""How a rule of the pack is declared: a check, its settings, and their defaults.

Every rule takes the `environment` setting; a rule's own settings each carry a
JSON schema (checked by the Pulumi CLI) and a default drawn from the
environment's profile. The configuration files are rendered from these
declarations, so a default is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .environments import ENVIRONMENT_KEY, PROFILES, Profile, environment_of

Settings = Mapping[str, Any]
ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation, Settings], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation, Settings], None]

ENVIRONMENT_SCHEMA = {"type": "string", "enum": sorted(PROFILES),
                      "description": "Which environment the stack is (default: its stack name)."}


@dataclass(frozen=True)
class Setting:
    """One configurable threshold of a rule: its JSON schema and its default per environment."""

    key: str
    schema: dict[str, Any]
    default: Callable[[Profile], Any]


@dataclass(frozen=True)
class Rule:
    """One policy of the pack: a kebab-case name, one sentence, a check and its settings."""

    name: str
    description: str
    check: ResourceCheck | StackCheck
    settings: tuple[Setting, ...] = ()
    stack: bool = False

    def defaults(self, profile: Profile) -> dict[str, Any]:
        return {setting.key: setting.default(profile) for setting in self.settings}

    def resolve(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The environment and every setting: configured values win over the profile's."""
        environment = environment_of(config)
        return {ENVIRONMENT_KEY: environment, **self.defaults(PROFILES[environment]),
                **{key: value for key, value in config.items() if key != ENVIRONMENT_KEY}}

    def build(self) -> Policy:
        schema = PolicyConfigSchema(properties={
            ENVIRONMENT_KEY: ENVIRONMENT_SCHEMA,
            **{setting.key: setting.schema for setting in self.settings}})
        if self.stack:
            def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
                self.check(args, report, self.resolve(args.get_config()))

            return StackValidationPolicy(name=self.name, description=self.description,
                                         validate=validate_stack, config_schema=schema)

        def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
            self.check(args, report, self.resolve(args.get_config()))

        return ResourceValidationPolicy(name=self.name, description=self.description,
                                        validate=validate_resource, config_schema=schema)


def flag(description: str, default: Callable[[Profile], bool]) -> Setting:
    """The usual setting of an environment-dependent rule: whether it applies at all."""
    return Setting("required", {"type": "boolean", "description": description}, default)
