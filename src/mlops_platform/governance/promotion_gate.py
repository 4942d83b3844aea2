"""The promotion gate: the only way `champion` moves in the registry.

A version becomes champion only if its primary metric meets the threshold, it is
at least as good as the current champion (within the tolerance), its data passed
validation, its lineage tags exist, its model card exists and, at maturity level 2
or on the prod platform, an approval is recorded. Otherwise the gate refuses with
the reasons and the champion stays. Every decision is an audit record: tags on the
version and a line in the project's audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_platform import contract as ml_contract
from mlops_platform.governance import audit_log
from mlops_platform.governance.project import Project
from mlops_platform.governance.registry import (
    VersionFacts,
    champion_version,
    resolve_version,
    version_facts,
)
from mlops_platform.governance.tracking import reachable_target

if TYPE_CHECKING:
    from mlflow import MlflowClient

PROMOTED, REFUSED, UNCHANGED = "promoted", "refused", "unchanged"
APPROVAL_LEVEL = 2
APPROVAL_ENVIRONMENTS = ("prod",)


@dataclass(frozen=True)
class PromotionRule:
    model_name: str
    primary_metric: str
    threshold: float
    tolerance: float
    higher_is_better: bool
    maturity_level: int

    @classmethod
    def from_project(cls, project: Project) -> PromotionRule:
        """The rule of params.yaml, which Project.open has validated."""
        params = project.params
        return cls(model_name=params.model.name,
                   primary_metric=params.promotion.primary_metric,
                   threshold=params.promotion.threshold,
                   tolerance=params.promotion.tolerance,
                   higher_is_better=params.promotion.higher_is_better,
                   maturity_level=params.project.maturity_level)

    def at_least(self, value: float, bar: float) -> bool:
        return value >= bar if self.higher_is_better else value <= bar


@dataclass(frozen=True)
class GateCheck:
    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    record: audit_log.AuditRecord
    checks: tuple[GateCheck, ...]
    champion_before: str | None
    champion_after: str | None

    @property
    def outcome(self) -> str:
        return self.record.outcome


def metric_checks(rule: PromotionRule, candidate: VersionFacts,
                  champion: VersionFacts | None) -> list[GateCheck]:
    metric = rule.primary_metric
    value = candidate.metrics.get(metric)
    if value is None:
        return [GateCheck("threshold", False, f"version {candidate.version} has no metric "
                          f"{metric!r} on its run: run the evaluate stage before promoting")]
    word = ">=" if rule.higher_is_better else "<="
    checks = [GateCheck("threshold", rule.at_least(value, rule.threshold),
                        f"{metric} {value:.4f} {word} threshold {rule.threshold:g}"
                        if rule.at_least(value, rule.threshold) else
                        f"{metric} {value:.4f} misses the threshold {rule.threshold:g}")]
    if champion is None:
        checks.append(GateCheck("champion", True, "no champion yet"))
    elif metric not in champion.metrics:
        checks.append(GateCheck("champion", True, f"champion version {champion.version} has "
                                f"no {metric}: nothing to compare against"))
    else:
        best = champion.metrics[metric]
        bar = best - rule.tolerance if rule.higher_is_better else best + rule.tolerance
        good = rule.at_least(value, bar)
        verdict = "at least as good as" if good else "worse than"
        checks.append(GateCheck("champion", good, f"{metric} {value:.4f} is {verdict} champion "
                                f"version {champion.version} ({best:.4f}, tolerance "
                                f"{rule.tolerance:g})"))
    return checks


def evidence_checks(rule: PromotionRule, candidate: VersionFacts,
                    environment: str) -> list[GateCheck]:
    tags = candidate.tags
    validation = tags.get(ml_contract.TAG_DATA_VALIDATION)
    missing = [tag for tag in ml_contract.LINEAGE_TAGS if not tags.get(tag)]
    checks = [
        GateCheck("data_validation", validation == ml_contract.DATA_VALIDATION_PASSED,
                  "data passed validation" if validation == ml_contract.DATA_VALIDATION_PASSED
                  else f"data validation is {validation or 'not recorded'} "
                       f"(tag {ml_contract.TAG_DATA_VALIDATION}): fix the data and rerun "
                       "the pipeline"),
        GateCheck("lineage", not missing, "lineage tags present" if not missing
                  else f"lineage tags missing: {', '.join(missing)} (train through the pipeline, "
                       "which sets them)"),
        GateCheck("model_card", candidate.has_model_card,
                  "model card logged" if candidate.has_model_card
                  else f"no {ml_contract.MODEL_CARD_ARTIFACT} in run {candidate.run_id or '-'}: "
                       "run the evaluate stage"),
    ]
    if rule.maturity_level >= APPROVAL_LEVEL or environment in APPROVAL_ENVIRONMENTS:
        approver = tags.get(ml_contract.TAG_APPROVED_BY)
        why = (f"level {rule.maturity_level}" if rule.maturity_level >= APPROVAL_LEVEL
               else f"environment {environment}")
        checks.append(GateCheck(
            "approval", bool(approver),
            f"approved by {approver} at {tags.get(ml_contract.TAG_APPROVED_AT, '?')}" if approver
            else f"no approval recorded ({why} requires one): in the project, `mlops-policy "
                 f"approve --project . --version {candidate.version} --by <name>` "
                 "(make approve APPROVER=<name> approves the challenger)"))
    return checks


def decide(rule: PromotionRule, candidate: VersionFacts, champion: VersionFacts | None,
           environment: str) -> tuple[str, tuple[GateCheck, ...], list[str]]:
    if champion is not None and champion.version == candidate.version:
        reason = f"version {candidate.version} already is the champion"
        return UNCHANGED, (GateCheck("champion", True, reason),), [reason]
    checks = tuple(metric_checks(rule, candidate, champion)
                   + evidence_checks(rule, candidate, environment))
    failed = [check.reason for check in checks if not check.passed]
    if failed:
        return REFUSED, checks, failed
    return PROMOTED, checks, [check.reason for check in checks]


def promote(client: MlflowClient, rule: PromotionRule, environment: str, log_file: Path,
            version: str | None = None, actor: str | None = None) -> Decision:
    """Decide on `version` (default: the challenger), move champion if it passes, record it."""
    version = resolve_version(client, rule.model_name, version)
    candidate = version_facts(client, rule.model_name, version)
    before = champion_version(client, rule.model_name)
    champion = version_facts(client, rule.model_name, before) if before else None
    actor = actor or audit_log.current_actor()
    outcome, checks, reasons = decide(rule, candidate, champion, environment)
    if outcome == PROMOTED:
        client.set_registered_model_alias(rule.model_name, ml_contract.ALIAS_CHAMPION, version)
    record = audit_log.AuditRecord(
        action="promotion", outcome=outcome, model_name=rule.model_name, version=version,
        actor=actor, at=audit_log.now(), reasons=reasons,
        details={"previous_champion": before, "environment": environment,
                 "maturity_level": rule.maturity_level, "metric": rule.primary_metric,
                 "checks": [check.__dict__ for check in checks]})
    for key, value in audit_log.promotion_tags(record).items():
        client.set_model_version_tag(rule.model_name, version, key, value)
    audit_log.append(log_file, record)
    after = version if outcome == PROMOTED else before
    return Decision(record=record, checks=checks, champion_before=before, champion_after=after)


def promote_project(project_path: Path | str, version: str | None = None,
                    actor: str | None = None, log_file: Path | None = None) -> Decision:
    project = Project.open(project_path)
    rule = PromotionRule.from_project(project)
    target = reachable_target(project.root)
    return promote(target.client(), rule, target.environment,
                   log_file or project.root / ml_contract.AUDIT_LOG_FILE, version, actor)
