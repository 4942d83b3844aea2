"""Run the platform pack's rules in-process, the way the analyzer server runs them.

The arguments are built like the server builds them: wire properties
deserialized by pulumi_policy, the per-policy configuration of an environment's
config file, and `not_applicable` reported apart from violations.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError

from policies.platform_pack.platform_rules.catalog import RULES, pack_config, rule_named

NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Resource:
    """One object as the pack sees it: type, name, URN and (deserialized) properties."""

    type_: str
    name: str
    urn: str
    props: dict[str, Any]


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str
    mandatory: bool


def resource(type_: str, props: Mapping[str, Any], name: str = "subject") -> Resource:
    return Resource(type_, name, f"urn:pulumi:test::mlops-platform::{type_}::{name}",
                    copy.deepcopy(dict(props)))


def from_wire(type_: str, name: str, urn: str, inputs: Mapping[str, Any]) -> Resource:
    """A recorded resource's wire inputs (secrets wrapped) as the analyzer would pass them."""
    return Resource(type_, name, urn, deserialize_properties(copy.deepcopy(dict(inputs))))


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def config_for(rule_name: str, environment: str) -> dict[str, Any]:
    return dict(pack_config(environment)[rule_name])


def run_rule(rule_name: str, resources: Resource | Iterable[Resource], environment: str,
             config: Mapping[str, Any] | None = None) -> list[str] | str:
    """The violation messages of one rule, or NOT_APPLICABLE when the rule declared so."""
    if isinstance(resources, Resource):
        resources = [resources]
    resources = list(resources)
    policy = rule_named(rule_name).build()
    settings = config_for(rule_name, environment) if config is None else dict(config)
    messages: list[str] = []

    def report(message: str, _urn: str | None = None) -> None:
        assert isinstance(message, str) and message.endswith("."), message
        messages.append(message)

    try:
        if isinstance(policy, ResourceValidationPolicy):
            for item in resources:
                policy.validate(_resource_args(item, settings), report)
        else:
            policy.validate(StackValidationArgs(_policy_resources(resources), settings), report)
    except _NotApplicableError:
        return NOT_APPLICABLE
    return messages


def _resource_args(item: Resource, settings: Mapping[str, Any]) -> ResourceValidationArgs:
    return ResourceValidationArgs(item.type_, item.props, item.urn, item.name, _options(), None,
                                  settings)


def _policy_resources(resources: list[Resource]) -> list[PolicyResource]:
    return [PolicyResource(item.type_, item.props, item.urn, item.name, _options(), None, None,
                           [], {}) for item in resources]


def evaluate(resources: list[Resource], environment: str) -> list[Violation]:
    """Every violation of every rule over a stack, with the environment's enforcement."""
    config = pack_config(environment)
    mandatory = config["all"] == "mandatory"
    violations: list[Violation] = []
    for rule in RULES:
        policy = rule.build()
        settings = dict(config[rule.name])

        def reporter(default_urn: str, name: str = rule.name) -> ReportViolation:
            def report(message: str, urn: str | None = None) -> None:
                violations.append(Violation(name, urn or default_urn, message, mandatory))
            return report

        if rule.stack:
            with contextlib.suppress(_NotApplicableError):
                policy.validate(StackValidationArgs(_policy_resources(resources), settings),
                                reporter(""))
            continue
        for item in resources:
            with contextlib.suppress(_NotApplicableError):
                policy.validate(_resource_args(item, settings), reporter(item.urn))
    return violations


def caught(rule_name: str, resources: Resource | Iterable[Resource],
           environment: str = "prod") -> list[str]:
    """The violations of a rule that must catch these objects: whole sentences with a fix."""
    messages = run_rule(rule_name, resources, environment)
    assert isinstance(messages, list) and messages, f"{rule_name} let it through"
    for message in messages:
        assert re.search(r"\. [A-Z][a-z]+ ", message), f"no fix after the finding: {message}"
    return messages
