"""`mlops-policy`: ML governance from the command line (thin: the logic is the governance
package's).

  mlops-policy check PATH [--level N] [--verbose | --json] [--offline] [--no-cache] [--jobs N]
      The level the project at PATH reaches, how many controls of each level pass and
      what the next level needs; --verbose: every control with its evidence and the ML
      Test Score's credits. Exit 1 when the project does not meet --level (default: the
      level its params.yaml declares). Probe outcomes are cached outside the project,
      keyed by the content they read (not in CI; --no-cache to run every probe).
  mlops-policy promote --project PATH [--version V] [--by WHO] [--record FILE] [--strict]
      [--json]
      The promotion gate on version V (default: the version aliased challenger).
      Exit 0 once the decision is recorded (promoted, refused or unchanged); with
      --strict a refusal exits 1. --record also writes the decision to FILE (a project's
      reports/promotion.json).
  mlops-policy promote --project PATH --reset-champion-from-audit [--by WHO]
      Move a hand-moved champion back to the version the gate last promoted (audited).
  mlops-policy approve [--project PATH | --model-name N] [--version V] [--by WHO]
      Record an approval of version V (default: the challenger); in CI the approver is
      the CI platform's identity, elsewhere WHO.
  mlops-policy audit verify [--project PATH] [--audit-log FILE] [--offline]
      Verify the hash chain of the audit log and its head in the registry: exit 1 and
      every edited, deleted, reordered or foreign line by number; exit 0 when intact.
  mlops-policy controls [--json]
      The control catalogue.

Exit 2: the input cannot be used (the message says what to fix).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from mlops_platform import contract as ml_contract

OK, FAILED, UNUSABLE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mlops-policy", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="governance scorecard of a project")
    check.add_argument("path", type=Path, help="root of the ML project (holds params.yaml)")
    check.add_argument("--level", type=int, choices=(0, 1, 2),
                       help="level to require (default: params.yaml project.maturity_level)")
    output = check.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the scorecard as JSON")
    output.add_argument("-v", "--verbose", action="store_true",
                        help="every control with its evidence, and the ML Test Score")
    check.add_argument("--no-cache", action="store_true",
                       help="run every probe, reusing no outcome of an earlier check")
    check.add_argument("--jobs", type=positive, help="probes run side by side "
                       "(default: one per CPU)")
    check.add_argument("--offline", action="store_true",
                       help="do not consult the tracking server")

    promote = commands.add_parser("promote", help="run the promotion gate")
    promote.add_argument("--project", type=Path, default=Path(), help="project root")
    promote.add_argument("--version", help="model version (default: the challenger)")
    promote.add_argument("--by", help="who promotes (default: CI actor or user)")
    promote.add_argument("--audit-log", type=Path,
                         help=f"JSON-lines audit log (default: <project>/"
                              f"{ml_contract.AUDIT_LOG_FILE})")
    promote.add_argument("--record", type=Path,
                         help="also write the decision to this JSON file (relative to the "
                              "current directory)")
    promote.add_argument("--strict", action="store_true", help="exit 1 when refused")
    promote.add_argument("--json", action="store_true", help="print the decision as JSON")
    promote.add_argument("--reset-champion-from-audit", action="store_true",
                         help="operator repair: move a hand-moved champion back to the version "
                              "the gate last promoted")

    approve = commands.add_parser("approve", help="record an approval of a model version")
    approve.add_argument("--project", type=Path,
                         help="project root (model name, tracking server, audit log)")
    approve.add_argument("--model-name", help="registered model name (default: params.yaml)")
    approve.add_argument("--version", help="model version (default: the challenger)")
    approve.add_argument("--by", help="who approves (in CI: the CI platform's identity)")
    approve.add_argument("--audit-log", type=Path, help="JSON-lines audit log")

    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="verify the audit log's hash chain")
    verify.add_argument("--project", type=Path, default=Path(), help="project root")
    verify.add_argument("--audit-log", type=Path,
                        help=f"the log (default: <project>/{ml_contract.AUDIT_LOG_FILE})")
    verify.add_argument("--offline", action="store_true",
                        help="do not compare with the registry's head record")

    controls = commands.add_parser("controls", help="list the control catalogue")
    controls.add_argument("--json", action="store_true")
    return root


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def run_check(args: argparse.Namespace, console: Console) -> int:
    from mlops_platform.governance.checker import check_project
    from mlops_platform.governance.probe_cache import ProbeCache, default_directory
    from mlops_platform.governance.scorecard_report import (
        as_json,
        print_scorecard,
        print_summary,
    )

    directory = None if args.no_cache else default_directory()
    scorecard = check_project(args.path, level=args.level, use_tracking=not args.offline,
                              cache=ProbeCache(directory) if directory else None,
                              jobs=args.jobs)
    if args.json:
        print(as_json(scorecard))
    elif args.verbose:
        print_scorecard(scorecard, console)
    else:
        print_summary(scorecard, Console())
    return OK if scorecard.ok else FAILED


def run_promote(args: argparse.Namespace, console: Console) -> int:
    from mlops_platform.governance import audit_log
    from mlops_platform.governance.promotion_gate import (
        REFUSED,
        promote_project,
        reset_project_champion,
    )

    if args.reset_champion_from_audit:
        decision = reset_project_champion(args.project, actor=args.by, log_file=args.audit_log)
    else:
        decision = promote_project(args.project, version=args.version, actor=args.by,
                                   log_file=args.audit_log)
    record = decision.record
    if args.record is not None:
        decision.write_record(args.record)
    if args.json:
        print(record.as_json())
    else:
        colour = {"promoted": "green", "refused": "red"}.get(record.outcome, "yellow")
        console.print(f"[{colour}]{record.outcome.upper()}[/{colour}] {record.model_name} "
                      f"version {record.version} (champion: {decision.champion_before} -> "
                      f"{decision.champion_after})", highlight=False)
        for check in decision.checks:
            mark = "[green]ok[/green]" if check.passed else "[red]no[/red]"
            console.print(f"  {mark} {check.name}: {check.reason}", highlight=False)
        console.print(audit_log.commit_note(decision.log_file), highlight=False,
                      soft_wrap=True)
    return FAILED if args.strict and record.outcome == REFUSED else OK


def run_approve(args: argparse.Namespace, console: Console) -> int:
    from mlops_platform.client.project import Project
    from mlops_platform.client.tracking import (
        TrackingTarget,
        reachable_target,
        unreachable_reason,
    )
    from mlops_platform.governance import audit_log
    from mlops_platform.governance.approvals import approve
    from mlops_platform.governance.gate_identity import gate_credentials
    from mlops_platform.governance.promotion_gate import PromotionRule

    if args.project is not None:
        project = Project.open(args.project)
        model_name = args.model_name or PromotionRule.from_project(project).model_name
        target = reachable_target(project.root)
        log_file = args.audit_log or project.root / ml_contract.AUDIT_LOG_FILE
    else:
        if not args.model_name:
            raise ValueError("approve needs --model-name (or --project to read it from "
                             "params.yaml)")
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            raise ValueError("approve without --project needs MLFLOW_TRACKING_URI set to the "
                             "tracking server")
        if unreachable_reason(uri):
            raise ValueError(f"the tracking server at {uri} (MLFLOW_TRACKING_URI) is unreachable")
        model_name = args.model_name
        target = TrackingTarget(uri, os.environ.get("MLFLOW_REGISTRY_URI", uri), "local",
                                "MLFLOW_TRACKING_URI")
        log_file = args.audit_log or Path(ml_contract.AUDIT_LOG_FILE)
    # An approval extends the gate's chain and sets gate-only tags: it speaks as the gate.
    with gate_credentials():
        record = approve(target.client(), model_name, args.version, args.by, log_file)
    console.print(f"approved {model_name} version {record.version} by {record.actor}; "
                  f"{audit_log.commit_note(log_file)}", highlight=False, soft_wrap=True)
    return OK


def run_audit(args: argparse.Namespace, console: Console) -> int:
    from mlops_platform.client.project import Project
    from mlops_platform.client.tracking import reachable_target
    from mlops_platform.governance import audit_log
    from mlops_platform.governance.promotion_gate import PromotionRule, champion_digest_problems

    project = Project.open(args.project)
    log_file = args.audit_log or project.root / ml_contract.AUDIT_LOG_FILE
    verification = audit_log.verify(log_file)
    problems = list(verification.problems)
    if not args.offline:
        client = reachable_target(project.root).client()
        name = PromotionRule.from_project(project).model_name
        problems += audit_log.verify_against_registry(verification,
                                                      audit_log.registry_head(client, name))
        problems += champion_digest_problems(client, name, verification.entries)
    for problem in problems:
        console.print(f"[red]{log_file}[/red] {problem}", highlight=False, soft_wrap=True)
    if problems:
        return FAILED
    console.print(f"audit log {log_file}: {len(verification.entries)} records, chain intact"
                  + ("" if args.offline else ", head matches the registry, the champion's "
                     "files are the ones promoted"), highlight=False, soft_wrap=True)
    return OK


def run_controls(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from mlops_platform.governance.controls import CATALOGUE

    if args.json:
        print(json.dumps([{"id": c.id, "level": c.level, "title": c.title,
                           "description": c.description, "how_checked": c.how_checked}
                          for c in CATALOGUE], indent=2))
        return OK
    table = Table(title="ML governance controls")
    for column in ("id", "level", "description", "how checked"):
        table.add_column(column, overflow="fold")
    for control in CATALOGUE:
        table.add_row(control.id, str(control.level), control.description, control.how_checked)
    console.print(table)
    return OK


COMMANDS = {"check": run_check, "promote": run_promote, "approve": run_approve,
            "audit": run_audit, "controls": run_controls}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(width=140)
    from mlops_platform.client.tracking import use_client_environment
    from mlops_platform.governance.errors import USER_ERRORS

    use_client_environment()

    try:
        return COMMANDS[args.command](args, console)
    except USER_ERRORS as err:
        print(f"mlops-policy {args.command}: {err}", file=sys.stderr)
        return UNUSABLE


if __name__ == "__main__":
    raise SystemExit(main())
