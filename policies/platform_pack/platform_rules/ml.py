"""ML rules: serving loads a pinned registry model, and in production an approved one."""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .conventions import APPROVED_BY_ANNOTATION, MODEL_URI_ENV
from .kubernetes import describe, dig
from .roles import served_model_uris
from .rule import Rule, Settings, flag

# models:/<name>/<version number> or models:/<name>@<alias>
REGISTRY_URI = re.compile(r"^models:/[^/@\s]+(/[0-9]+|@[A-Za-z0-9_-]+)$")


def check_model_pinned(args: ResourceValidationArgs, report: ReportViolation,
                       _: Settings) -> None:
    subject = describe(args.resource_type, args.props, args.name)
    for uri in served_model_uris(args.resource_type, args.props):
        if uri is None:
            report(f"{subject} takes its model URI from a reference the pack can't read. Set "
                   f"{MODEL_URI_ENV} to models:/<name>/<version> or models:/<name>@<alias> "
                   "as a plain value.")
        elif not REGISTRY_URI.match(uri):
            report(f"{subject} serves '{uri}', which is not a registry version or alias. "
                   "Serve models:/<name>/<version> or models:/<name>@<alias> (in "
                   f"{MODEL_URI_ENV} or storageUri).")


def check_model_approved(args: ResourceValidationArgs, report: ReportViolation,
                         settings: Settings) -> None:
    if not served_model_uris(args.resource_type, args.props):
        return
    if not settings["required"]:
        args.not_applicable(f"approvals are not required in {settings['environment']}")
    approver = dig(args.props, "metadata", "annotations", APPROVED_BY_ANNOTATION)
    if not (isinstance(approver, str) and approver.strip()):
        report(f"{describe(args.resource_type, args.props, args.name)} serves a model nobody "
               f"approved for {settings['environment']}. Record the approval in the "
               f"annotation {APPROVED_BY_ANNOTATION} (the approver of the model version, as "
               "the promotion gate recorded it).")


RULES = [
    Rule("served-model-pinned",
         "Serving must load a registry model version or alias, never an unpinned URI.",
         check_model_pinned),
    Rule("served-model-approved",
         "A served model must carry a recorded approval where the environment requires it.",
         check_model_approved,
         (flag("Require approvals.", lambda profile: profile.require_model_approval),)),
]
