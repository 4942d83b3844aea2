"""The promotion gate: the only way `champion` moves in the registry.

A version becomes champion only if its primary metric, which the gate recomputes itself
on the project's test split, matches the run's logged value, meets the threshold and is
at least as good as the champion's (within the tolerance), and where the project has
labelled served rows (its labelled data version, make labelled-data) it is at least as good
as the champion on the latest window of them too, both models scored by the gate; with no
such window the record says it compared on the test split only. Its data passed validation,
its lineage tags and model card exist and, where the platform's rules ask for one, a
valid approval is recorded. The thresholds come from params.yaml tightened by the
platform's rules (platform_rules). A champion the gate did not put there (moved by
hand) stops the gate until an operator resets it from the audit log. Every decision is
a record in the hash-chained audit log and in the registry; moving the alias is
bracketed by a `pending` record before and the decision after, so a crash in between
is found and settled by the next run.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_platform import contract as ml_contract
from mlops_platform import model_digest
from mlops_platform.client.platform_rules import PlatformRules, platform_rules
from mlops_platform.client.project import Project
from mlops_platform.client.registry import (
    VersionFacts,
    champion_version,
    refusals_named,
    resolve_version,
    version_facts,
)
from mlops_platform.client.tracking import reachable_target
from mlops_platform.governance import audit_log
from mlops_platform.governance.approvals import approval_problem
from mlops_platform.governance.audit_log import (
    ABORTED,
    PENDING,
    PROMOTED,
    REFUSED,
    RESET,
    UNCHANGED,
)
from mlops_platform.governance.evaluation import (
    Measurement,
    RecentRows,
    measure,
    recent_rows,
    test_split,
)
from mlops_platform.governance.gate_identity import gate_credentials

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION_MOVES = (PROMOTED, RESET)  # the records after which the champion is what the gate set
RESET_COMMAND = "mlops-policy promote --project . --reset-champion-from-audit"


@dataclass(frozen=True)
class PromotionRule:
    model_name: str
    primary_metric: str
    threshold: float
    tolerance: float
    higher_is_better: bool
    maturity_level: int
    approval_required: bool = False

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

    def tightened(self, rules: PlatformRules, environment: str, level: int) -> PromotionRule:
        """This rule made at least as strict as the platform's: params may only tighten."""
        metric = rules.metric(self.primary_metric)
        if self.higher_is_better != metric["higher_is_better"]:
            raise ValueError(f"promotion.higher_is_better = {self.higher_is_better} contradicts "
                             f"the platform: for {self.primary_metric} it is "
                             f"{metric['higher_is_better']}; set it so in params.yaml")
        stricter = max if self.higher_is_better else min
        return dataclasses.replace(
            self, threshold=stricter(self.threshold, float(metric["floor"])),
            tolerance=min(self.tolerance, rules.environment(environment).max_tolerance),
            maturity_level=level, approval_required=rules.approval_required(environment, level))

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
    log_file: Path | None = None  # the audit log the decision was appended to

    @property
    def outcome(self) -> str:
        return self.record.outcome

    @property
    def awaiting_approval(self) -> bool:
        """Refused only for want of a recorded approval: not final, an approval completes it."""
        failed = {check.name for check in self.checks if not check.passed}
        return self.outcome == REFUSED and failed == {"approval"}

    def write_record(self, path: Path) -> None:
        """The decision as the project commits it (reports/promotion.json), whole or not at
        all: a crash mid-write leaves the previous record."""
        text = json.dumps(json.loads(self.record.as_json()), indent=2, sort_keys=True) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text)
        partial.replace(path)


def verified_value(rule: PromotionRule, candidate: VersionFacts, measured: Measurement,
                   match: float) -> GateCheck:
    """Whether the run's logged metric is what the gate measures on the test split."""
    metric, logged = rule.primary_metric, candidate.metrics[rule.primary_metric]
    if measured.value is None:
        return GateCheck("metric_verified", False, f"the gate cannot recompute {metric} of "
                         f"version {candidate.version}: {measured.problem}")
    if abs(measured.value - logged) > match:
        return GateCheck("metric_verified", False, f"{metric} logged on run {candidate.run_id} "
                         f"({logged:.6f}) is not what version {candidate.version} scores on the "
                         f"test split ({measured.value:.6f}): the run's metrics were edited or "
                         "computed on other data; rerun the pipeline")
    return GateCheck("metric_verified", True, f"{metric} {measured.value:.4f} recomputed on the "
                     "test split matches the run")


def metric_checks(rule: PromotionRule, candidate: VersionFacts, champion: VersionFacts | None,
                  measured: dict[str, Measurement], match: float) -> list[GateCheck]:
    metric = rule.primary_metric
    if candidate.metrics.get(metric) is None:
        return [GateCheck("threshold", False, f"version {candidate.version} has no metric "
                          f"{metric!r} on its run: run the evaluate stage before promoting")]
    verified = verified_value(rule, candidate, measured[candidate.version], match)
    if not verified.passed:
        return [verified]
    value = measured[candidate.version].value
    assert value is not None
    word = ">=" if rule.higher_is_better else "<="
    checks = [verified, GateCheck("threshold", rule.at_least(value, rule.threshold),
                                  f"{metric} {value:.4f} {word} threshold {rule.threshold:g}"
                                  if rule.at_least(value, rule.threshold) else
                                  f"{metric} {value:.4f} misses the threshold {rule.threshold:g}")]
    if champion is None:
        checks.append(GateCheck("champion", True, "no champion yet"))
        return checks
    best = measured[champion.version].value
    if best is None:
        checks.append(GateCheck("champion", False, f"the gate cannot measure champion version "
                                f"{champion.version}: {measured[champion.version].problem}"))
        return checks
    bar = best - rule.tolerance if rule.higher_is_better else best + rule.tolerance
    good = rule.at_least(value, bar)
    verdict = "at least as good as" if good else "worse than"
    checks.append(GateCheck("champion", good, f"{metric} {value:.4f} is {verdict} champion "
                            f"version {champion.version} ({best:.4f}, tolerance "
                            f"{rule.tolerance:g})"))
    return checks


RECENT_WINDOW = "the recent labelled window"


@dataclass(frozen=True)
class RecentComparison:
    """Both versions scored by the gate on the latest window of labelled served rows."""

    rows: RecentRows
    measured: dict[str, Measurement]

    def record(self) -> dict[str, Any]:
        return {**self.rows.record,
                "measured": {version: m.value for version, m in self.measured.items()}}

    def label(self) -> str:
        record = self.rows.record
        return (f"{RECENT_WINDOW} ({record['rows']} rows served {record['start_utc']} to "
                f"{record['end_utc']})")


def recent_window_check(rule: PromotionRule, candidate: VersionFacts,
                        champion: VersionFacts | None, recent: RecentComparison) -> GateCheck:
    """A challenger that does worse than the champion on what is served now is refused,
    however it scores on the test split."""
    name, metric = "recent_window", rule.primary_metric
    if recent.rows.split is None:
        return GateCheck(name, True, f"compared on {recent.rows.record['compared_on']}")
    mine = recent.measured[candidate.version]
    if mine.value is None:
        return GateCheck(name, False, f"the gate cannot score version {candidate.version} on "
                         f"{RECENT_WINDOW}: {mine.problem}")
    if champion is None:
        return GateCheck(name, True, f"{metric} {mine.value:.4f} on {recent.label()}; no "
                         "champion to compare with")
    best = recent.measured[champion.version].value
    if best is None:  # a champion that cannot read the latest rows sets no bar on them
        return GateCheck(name, True, f"{metric} {mine.value:.4f} on {recent.label()}; champion "
                         f"version {champion.version} cannot be scored on them: "
                         f"{recent.measured[champion.version].problem}")
    bar = best - rule.tolerance if rule.higher_is_better else best + rule.tolerance
    good = rule.at_least(mine.value, bar)
    return GateCheck(name, good, f"{metric} {mine.value:.4f} on {recent.label()} is "
                     f"{'at least as good as' if good else 'worse than'} champion version "
                     f"{champion.version} ({best:.4f}, tolerance {rule.tolerance:g})"
                     + ("" if good else ": it serves the latest labelled rows worse; keep the "
                        "champion, or retrain on more of them (make labelled-data)"))


def evidence_checks(candidate: VersionFacts, level: int) -> list[GateCheck]:
    tags = candidate.tags
    validation = tags.get(ml_contract.TAG_DATA_VALIDATION)
    missing = [tag for tag in ml_contract.LINEAGE_TAGS if not tags.get(tag)]
    return [
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
        *([explanations_check(candidate, level)]
          if platform_rules().explanations_required(level) else []),
    ]


def explanations_check(candidate: VersionFacts, level: int) -> GateCheck:
    return GateCheck(
        "explanations", candidate.has_explanations,
        "explanations logged" if candidate.has_explanations
        else f"no {ml_contract.EXPLAINABILITY_ARTIFACT} in run {candidate.run_id or '-'} (level "
             f"{level} requires the model's explanations): run the evaluate stage")


def approval_check(rule: PromotionRule, environment: str, version: str, approver: str | None,
                   problem: str = "no approval recorded") -> GateCheck:
    if approver:
        return GateCheck("approval", True, f"approved by {approver}")
    why = (f"environment {environment}" if platform_rules().environment(environment).approval
           else f"level {rule.maturity_level}")
    return GateCheck("approval", False, f"{problem} ({why} requires one): in the project, "
                     f"`mlops-policy approve --project . --version {version}`, run by someone "
                     "other than the promoter, the run's author and the person who trained it "
                     "(make approve APPROVER=<name> approves the challenger)")


def decide(rule: PromotionRule, candidate: VersionFacts, champion: VersionFacts | None,
           environment: str, measured: dict[str, Measurement], approval: GateCheck | None = None,
           match: float = 1e-6, recent: RecentComparison | None = None
           ) -> tuple[str, tuple[GateCheck, ...], list[str]]:
    if champion is not None and champion.version == candidate.version:
        reason = f"version {candidate.version} already is the champion"
        return UNCHANGED, (GateCheck("champion", True, reason),), [reason]
    checks = metric_checks(rule, candidate, champion, measured, match)
    if recent is not None:
        checks.append(recent_window_check(rule, candidate, champion, recent))
    checks += evidence_checks(candidate, rule.maturity_level)
    if rule.approval_required:
        checks.append(approval or approval_check(rule, environment, candidate.version, None))
    failed = [check.reason for check in checks if not check.passed]
    if failed:
        return REFUSED, tuple(checks), failed
    return PROMOTED, tuple(checks), [check.reason for check in checks]


# --- The gate against the registry and the audit log ---

def set_champion(client: MlflowClient, model_name: str, version: str | None) -> None:
    # The server's champion guard refuses every identity but the gate's; the pending record
    # stays and the next gate run settles it as aborted.
    with refusals_named(f"move {ml_contract.ALIAS_CHAMPION!r} of {model_name!r}"):
        if version is None:
            client.delete_registered_model_alias(model_name, ml_contract.ALIAS_CHAMPION)
        else:
            client.set_registered_model_alias(model_name, ml_contract.ALIAS_CHAMPION, version)


def move_champion(client: MlflowClient, log_file: Path,
                  record: audit_log.AuditRecord) -> dict[str, Any]:
    """Move the alias between a `pending` record and the decision, so a crash shows."""
    pending = audit_log.append(log_file, dataclasses.replace(
        record, outcome=PENDING, details={**record.details, "intent": record.outcome}))
    audit_log.record_in_registry(client, pending)
    set_champion(client, record.model_name, record.version)
    return audit_log.append(log_file, dataclasses.replace(
        record, details={**record.details, "pending": audit_log.reference(pending)}))


def settle_pending(client: MlflowClient, model_name: str, log_file: Path, actor: str) -> None:
    """Finish what a crashed run left pending: confirm a moved alias, else mark it aborted."""
    entries = audit_log.trusted_entries(log_file)
    settled = {entry["details"].get("pending") for entry in entries}
    for entry in entries:
        if (entry["outcome"] != PENDING or entry["model_name"] != model_name
                or audit_log.reference(entry) in settled):
            continue
        moved = champion_version(client, model_name) == entry["version"]
        outcome = entry["details"]["intent"] if moved else ABORTED
        details = {key: value for key, value in entry["details"].items() if key != "intent"}
        record = audit_log.AuditRecord(
            action=entry["action"], outcome=outcome, model_name=model_name,
            version=entry["version"], actor=actor, at=audit_log.now(),
            reasons=[f"record {entry['seq']} was left pending and the alias "
                     f"{'had moved' if moved else 'had not moved'}"],
            details={**details, "pending": audit_log.reference(entry), "recovered": True})
        audit_log.record_in_registry(client, audit_log.append(log_file, record))


def promoted_digest(client: MlflowClient, model_name: str, version: str) -> dict[str, Any]:
    """The digest of the files the gate promotes: in its record and the version's tag."""
    digest = model_digest.version_digest(model_name, version, client.tracking_uri,
                                         client._registry_uri)
    return {"digest": digest.value, "files": digest.files}


def champion_digest_problems(client: MlflowClient, model_name: str,
                             entries: list[dict[str, Any]]) -> list[str]:
    """The champion's files hashed again against what the gate recorded when it promoted it."""
    champion = champion_version(client, model_name)
    records = [entry["details"]["model_digest"] for entry in entries
               if entry["outcome"] == PROMOTED and entry["version"] == champion
               and entry["model_name"] == model_name and "model_digest" in entry["details"]]
    if champion is None or not records:
        return []
    recorded = records[-1]
    tag = client.get_model_version(model_name, champion).tags.get(ml_contract.TAG_MODEL_DIGEST)
    problems = [] if tag == recorded["digest"] else [
        f"champion version {champion}: its {ml_contract.TAG_MODEL_DIGEST} tag ({tag or 'none'}) "
        f"is not the digest the gate recorded ({recorded['digest']})"]
    found = model_digest.version_digest(model_name, champion, client.tracking_uri,
                                       client._registry_uri)
    if found.value != recorded["digest"]:
        problems.append(f"champion version {champion}: its files are not the ones the gate "
                        f"promoted (changed: {', '.join(found.differences(recorded['files']))}): "
                        "the model was swapped after promotion; do not serve it, promote a "
                        "version through the gate")
    return problems


def gated_champion(entries: list[dict[str, Any]], model_name: str) -> str | None:
    """The version the gate last made champion (None: none, or reset to none)."""
    moves = [entry for entry in entries if entry["model_name"] == model_name
             and entry["action"] == "promotion" and entry["outcome"] in CHAMPION_MOVES]
    return moves[-1]["version"] if moves else None


def gate_level(project: Project, entries: list[dict[str, Any]]) -> int:
    """The strictest level in sight: params.yaml's, the checker's and the audit log's."""
    from mlops_platform.governance.checker import check_project  # checks imports this module

    reached = check_project(project.root, use_tracking=False).level_reached
    recorded = [int(entry["details"].get("maturity_level", 0)) for entry in entries
                if entry["action"] == "promotion" and entry["outcome"] == PROMOTED]
    return max([project.declared_level, reached, *recorded])


def measurements(client: MlflowClient, project: Project, rule: PromotionRule,
                 versions: list[str], entries: list[dict[str, Any]]) -> dict[str, Measurement]:
    """Each version's metric on the test split; for a champion that cannot be scored any
    more (the data changed shape), the value the gate measured when it promoted it."""
    evaluation = platform_rules().evaluation
    split = test_split(project.root, evaluation, project.param(evaluation["target_param"]))
    found = {version: measure(client, rule.model_name, version, rule.primary_metric, split)
             for version in versions}
    for version, measured in found.items():
        recorded = [entry["details"].get("measured", {}).get(version) for entry in entries
                    if entry["outcome"] == PROMOTED and entry["version"] == version]
        if measured.value is None and recorded and recorded[-1] is not None:
            found[version] = Measurement(float(recorded[-1]))
    return found


def recent_comparison(client: MlflowClient, project: Project, rule: PromotionRule,
                      environment: str, versions: list[str]) -> RecentComparison:
    rules = platform_rules()
    rows = recent_rows(project.root, rules.evaluation,
                       rules.environment(environment).recent_window,
                       project.param(rules.evaluation["target_param"]))
    if rows.split is None:
        return RecentComparison(rows, {})
    return RecentComparison(rows, {version: measure(client, rule.model_name, version,
                                                    rule.primary_metric, rows.split,
                                                    RECENT_WINDOW)
                                   for version in versions})


def hand_moved_decision(before: str | None, gated: str | None) -> tuple[str, tuple, list[str]]:
    reason = (f"the champion is version {before or 'none'} but the gate last made version "
              f"{gated or 'none'} champion: the alias was moved by hand. Nothing is promoted "
              f"until an operator runs `{RESET_COMMAND}` (audited)")
    return REFUSED, (GateCheck("champion_provenance", False, reason),), [reason]


def promote(client: MlflowClient, project: Project, environment: str, log_file: Path,
            version: str | None = None, actor: str | None = None) -> Decision:
    """Decide on `version` (default: the challenger), move champion if it passes, record it."""
    params_rule = PromotionRule.from_project(project)
    name = params_rule.model_name
    actor = actor or audit_log.current_actor()
    settle_pending(client, name, log_file, actor)
    entries = audit_log.trusted_entries(log_file)
    rule = params_rule.tightened(platform_rules(), environment, gate_level(project, entries))
    version = resolve_version(client, name, version)
    candidate = version_facts(client, name, version)
    before = champion_version(client, name)
    gated = gated_champion(entries, name)
    measured: dict[str, Measurement] = {}
    recent: RecentComparison | None = None
    if before != gated:
        outcome, checks, reasons = hand_moved_decision(before, gated)
    else:
        champion = version_facts(client, name, before) if before else None
        versions = [v for v in (version, before) if v]
        measured = measurements(client, project, rule, versions, entries)
        recent = recent_comparison(client, project, rule, environment, versions)
        approver, problem = approval_problem(
            candidate, entries, actor, platform_rules().environment(environment).identity_sources)
        approval = approval_check(rule, environment, version, approver, problem)
        outcome, checks, reasons = decide(rule, candidate, champion, environment, measured,
                                          approval, platform_rules().evaluation["metric_match"],
                                          recent)
    record = audit_log.AuditRecord(
        action="promotion", outcome=outcome, model_name=name, version=version,
        actor=actor, at=audit_log.now(), reasons=reasons,
        details={"previous_champion": before, "environment": environment,
                 "maturity_level": rule.maturity_level, "metric": rule.primary_metric,
                 "rule": dataclasses.asdict(rule), "params_rule": dataclasses.asdict(params_rule),
                 "measured": {v: m.value for v, m in measured.items()},
                 "recent_window": recent.record() if recent else None,
                 "checks": [check.__dict__ for check in checks],
                 **({"model_digest": promoted_digest(client, name, version)}
                    if outcome == PROMOTED else {})})
    entry = (move_champion(client, log_file, record) if outcome == PROMOTED
             else audit_log.append(log_file, record))
    audit_log.record_in_registry(client, entry, audit_log.promotion_tags(record))
    after = version if outcome == PROMOTED else before
    return Decision(record=record, checks=checks, champion_before=before, champion_after=after,
                    log_file=log_file)


def reset_champion(client: MlflowClient, project: Project, log_file: Path,
                   actor: str | None = None) -> Decision:
    """The operator's repair of a hand-moved champion: back to what the audit log says."""
    name = PromotionRule.from_project(project).model_name
    actor = actor or audit_log.current_actor()
    settle_pending(client, name, log_file, actor)
    entries = audit_log.trusted_entries(log_file)
    before, gated = champion_version(client, name), gated_champion(entries, name)
    if before == gated:
        raise ValueError(f"the champion (version {before or 'none'}) already is the one the "
                         "audit log records: nothing to reset")
    reason = (f"champion reset from version {before or 'none'} (moved by hand) to version "
              f"{gated or 'none'}, the last one the gate promoted")
    record = audit_log.AuditRecord(
        action="promotion", outcome=RESET, model_name=name, version=gated, actor=actor,
        at=audit_log.now(), reasons=[reason], details={"previous_champion": before})
    entry = move_champion(client, log_file, record)
    audit_log.record_in_registry(client, entry, audit_log.promotion_tags(record))
    return Decision(record=record, checks=(GateCheck("champion_provenance", True, reason),),
                    champion_before=before, champion_after=gated, log_file=log_file)


def open_gate(project_path: Path | str, log_file: Path | None
              ) -> tuple[MlflowClient, Project, str, Path]:
    project = Project.open(project_path)
    target = reachable_target(project.root)
    return (target.client(), project, target.environment,
            log_file or project.root / ml_contract.AUDIT_LOG_FILE)


def promote_project(project_path: Path | str, version: str | None = None,
                    actor: str | None = None, log_file: Path | None = None) -> Decision:
    with gate_credentials():
        client, project, environment, log = open_gate(project_path, log_file)
        return promote(client, project, environment, log, version, actor)


def reset_project_champion(project_path: Path | str, actor: str | None = None,
                           log_file: Path | None = None) -> Decision:
    with gate_credentials():
        client, project, _, log = open_gate(project_path, log_file)
        return reset_champion(client, project, log, actor)
