"""A canary rollout of a challenger: step its weight up while it holds, roll it back when not.

``mlops-canary --project . --env staging --prometheus http://prometheus:9090`` (a project's
``make canary``, scheduled in CI) reads the challenger declared in ``deploy/<env>.yaml``
(``challenger: {version: 8, weight: 0.05}``: the serving pods answer that share of the rows
with it, ``mlops_platform.traffic_split``) and the rollout's plan, ``canary.yaml``:

```yaml
steps: [0.05, 0.25, 0.5, 1.0]    # the challenger's weights, in order
window: 10m                       # the evidence: the last 10 minutes in Prometheus
min_rows: 200                     # challenger rows in the window before a step up
max_failure_rate_increase: 0.01   # its failed predictions' share over the champion's
max_latency_ratio: 1.5            # its p99 prediction time over the champion's
max_metric_drop: 0.02             # its accuracy below the champion's, on labelled rows
min_labelled_rows: 100            # per arm, before accuracy is judged
```

Each run judges the arms on what the pods exported (per arm: rows, prediction time and
failures, ``mlops_serving_ab_test_*``) and, with ``--predictions`` and ``--labels``, on the
labelled rows of the prediction log (``ab_test.read_arms``), then does one of:

- **rollback** (exit 1): a bound is broken; the challenger is removed from the manifest;
- **hold** (exit 0): fewer than ``min_rows`` challenger rows in the window; nothing changes;
- **step** (exit 0): the weight moves to the next step;
- **complete** (exit 0): the challenger already answers every row (weight 1) and holds; it
  becomes the champion only through the promotion gate (``make approve``, ``make promote``,
  then ``make deploy``), like any other version;
- **idle** (exit 0): the manifest serves no challenger of the model (or not the model):
  nothing to roll out.

A rollback and a step are each a commit of ``deploy/<env>.yaml`` (``--no-commit``: edited
only; CI pushes the commit,
and the platform's serving program applies it) and a record in the project's audit log
(``governance/audit.jsonl``, action ``canary``), whose head the registry keeps as for the
gate's records (written with the gate's identity where CI holds it). Exit 2: could not check
(a bad plan or manifest, Prometheus or the store unreachable), with one line saying why.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_platform import contract as ml_contract
from mlops_platform.ab_test import ABTestInputError, arms_of
from mlops_platform.client.project import model_name
from mlops_platform.client.registry import RegistryError
from mlops_platform.client.tracking import TrackingServerError, reachable_target
from mlops_platform.deploy.gitops import DeployError, commit, manifest_path, write_manifest
from mlops_platform.deploy.manifest import (
    DeploymentManifest,
    DeploymentManifestError,
    ServedModel,
    load_deployment,
)
from mlops_platform.governance import audit_log
from mlops_platform.governance.gate_identity import gate_credentials
from mlops_platform.monitoring import catalog
from mlops_platform.prediction_log import ARM, ARMS, CHALLENGER_ARM, CHAMPION_ARM
from mlops_platform.prediction_store import StoreError, read_labels, read_lines

PROGRAM = "mlops-canary"
PLAN_FILE = "canary.yaml"
PROMETHEUS_ENV = "MLOPS_PROMETHEUS_URL"
ROLLBACK, HOLD, STEP, COMPLETE, IDLE = "rollback", "hold", "step", "complete", "idle"
EXIT_CODES = {ROLLBACK: 1, HOLD: 0, STEP: 0, COMPLETE: 0, IDLE: 0}
UNCHECKED = 2
QUERY_TIMEOUT = 30.0


class CanaryError(ValueError):
    """The rollout cannot be judged; the message names the input and the fix."""


class CanaryPlan(BaseModel):
    """How a challenger's weight steps up, and the bounds it must keep against the champion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[float] = Field(default=[0.05, 0.25, 0.5, 1.0], min_length=1)
    window: str = Field(default="10m", pattern=r"^\d+[smh]$")
    min_rows: int = Field(default=200, ge=1)
    max_failure_rate_increase: float = Field(default=0.01, ge=0, le=1)
    max_latency_ratio: float = Field(default=1.5, ge=1)
    max_metric_drop: float = Field(default=0.02, ge=0, le=1)
    min_labelled_rows: int = Field(default=100, ge=1)

    @field_validator("steps")
    @classmethod
    def _rising_weights(cls, steps: list[float]) -> list[float]:
        if any(not 0 < step <= 1 for step in steps) or steps != sorted(set(steps)):
            raise ValueError(f"steps {steps} must be rising weights above 0 and at most 1")
        return steps

    def next_weight(self, weight: float) -> float | None:
        """The step after ``weight``; None at the last one (or beyond)."""
        return next((step for step in self.steps if step > weight + 1e-9), None)


def load_plan(path: Path) -> CanaryPlan:
    try:
        data = yaml.safe_load(path.read_text()) if path.exists() else {}
        return CanaryPlan.model_validate(data or {})
    except yaml.YAMLError as error:
        raise CanaryError(f"{path} is not valid YAML: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        raise CanaryError(f"{path}: {'.'.join(map(str, first['loc'])) or 'file'}: "
                          f"{first['msg'].removeprefix('Value error, ')}") from None


# --- the evidence ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmEvidence:
    """One arm in the window: rows answered, predictions made and failed, p99 time; and,
    when labelled rows were read, how many and how many correct."""

    rows: float = 0.0
    predictions: float = 0.0
    failures: float = 0.0
    p99_seconds: float | None = None
    labelled: int = 0
    correct: int = 0

    @property
    def failure_rate(self) -> float:
        return self.failures / self.predictions if self.predictions else 0.0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None


def prometheus_evidence(url: str, model: str, window: str) -> dict[str, ArmEvidence]:
    """Each arm's rows, predictions, failures and p99 prediction time over ``window``."""
    selector = f'model="{model}"'
    predict = catalog.SERVING_AB_PREDICT_SECONDS.name
    queries = {
        "rows": f"sum by (arm) (increase({catalog.SERVING_AB_ROWS.name}{{{selector}}}[{window}]))",
        "predictions": f"sum by (arm) (increase({predict}_count{{{selector}}}[{window}]))",
        "failures": f"sum by (arm) (increase({catalog.SERVING_AB_FAILURES.name}"
                    f"{{{selector}}}[{window}]))",
        "p99_seconds": f"histogram_quantile(0.99, sum by (arm, le) "
                       f"(rate({predict}_bucket{{{selector}}}[{window}])))",
    }
    found: dict[str, dict[str, float]] = {arm: {} for arm in ARMS}
    for name, query in queries.items():
        for arm, value in _instant(url, query).items():
            if arm in found and not math.isnan(value):
                found[arm][name] = value
    return {arm: ArmEvidence(**values) for arm, values in found.items()}


def _instant(url: str, query: str) -> dict[str, float]:
    try:
        response = httpx.get(f"{url.rstrip('/')}/api/v1/query", params={"query": query},
                             timeout=QUERY_TIMEOUT)
        response.raise_for_status()
        result = response.json()["data"]["result"]
    except (httpx.HTTPError, KeyError, ValueError) as error:
        raise CanaryError(f"Prometheus at {url} did not answer {query!r} ({error}): give its "
                          f"URL with --prometheus or {PROMETHEUS_ENV}") from None
    return {series["metric"].get("arm", ""): float(series["value"][1]) for series in result}


def with_labels(evidence: dict[str, ArmEvidence], predictions: str, labels: str
                ) -> dict[str, ArmEvidence]:
    """The arms' labelled and correct rows from the prediction log and its labels; the
    evidence as it was while the log holds no row of the test yet."""
    try:
        logged = read_lines(predictions)
        if logged.empty or ARM not in logged or logged[ARM].isna().all():
            return evidence
        arms = arms_of(logged, read_labels(labels))
    except (StoreError, ABTestInputError) as error:
        raise CanaryError(str(error)) from None
    return {name: replace(evidence[name], labelled=arm.labelled, correct=arm.correct)
            for name, arm in arms.items()}


# --- the decision ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    action: str
    weight: float  # the challenger's weight now
    next_weight: float | None  # after a step
    reasons: list[str] = field(default_factory=list)


def broken_bounds(plan: CanaryPlan, champion: ArmEvidence, challenger: ArmEvidence
                  ) -> list[str]:
    """Each bound the challenger breaks against the champion, in words."""
    broken = []
    increase = challenger.failure_rate - champion.failure_rate
    if challenger.predictions and increase > plan.max_failure_rate_increase:
        broken.append(f"its failure rate {challenger.failure_rate:.2%} is {increase:.2%} over "
                      f"the champion's {champion.failure_rate:.2%} (bound "
                      f"{plan.max_failure_rate_increase:.2%})")
    if challenger.p99_seconds is not None and champion.p99_seconds:
        ratio = challenger.p99_seconds / champion.p99_seconds
        if ratio > plan.max_latency_ratio:
            broken.append(f"its p99 prediction time {challenger.p99_seconds * 1000:.1f} ms is "
                          f"{ratio:.2f}x the champion's {champion.p99_seconds * 1000:.1f} ms "
                          f"(bound {plan.max_latency_ratio:g}x)")
    labelled = min(champion.labelled, challenger.labelled) >= plan.min_labelled_rows
    if labelled and champion.accuracy - challenger.accuracy > plan.max_metric_drop:
        broken.append(f"its accuracy {challenger.accuracy:.4f} on {challenger.labelled} "
                      f"labelled rows is {champion.accuracy - challenger.accuracy:.4f} below "
                      f"the champion's {champion.accuracy:.4f} (bound {plan.max_metric_drop:g})")
    return broken


def decide(plan: CanaryPlan, weight: float, evidence: dict[str, ArmEvidence]) -> Decision:
    champion, challenger = evidence[CHAMPION_ARM], evidence[CHALLENGER_ARM]
    broken = broken_bounds(plan, champion, challenger)
    if broken:
        return Decision(ROLLBACK, weight, None, broken)
    if challenger.rows < plan.min_rows:
        return Decision(HOLD, weight, None, [
            f"the challenger answered {challenger.rows:.0f} rows in the last {plan.window}, "
            f"fewer than the {plan.min_rows} a step needs"])
    following = plan.next_weight(weight)
    if following is None:
        return Decision(COMPLETE, weight, None, [
            "the challenger answers every row of its last step and keeps every bound: promote "
            "it through the gate (make approve; make promote), then make deploy"])
    return Decision(STEP, weight, following, [
        f"the challenger kept every bound over {challenger.rows:.0f} rows"])


# --- the change: a commit and an audit record -------------------------------------------------


def with_challenger_weight(manifest: DeploymentManifest, name: str, weight: float | None
                           ) -> DeploymentManifest:
    """The manifest with the challenger of ``name`` at ``weight`` (None: removed)."""
    models = []
    for model in manifest.models:
        if model.name == name:
            data = model.model_dump(exclude_none=True)
            if weight is None:
                data.pop("challenger")
            else:
                data["challenger"]["weight"] = weight
            model = ServedModel.model_validate(data)
        models.append(model)
    return manifest.model_copy(update={"models": models})


def record(project: Path, name: str, model: ServedModel, env: str, decision: Decision
           ) -> dict:
    """The decision in the audit log and its head in the registry (as the gate, where CI
    holds its identity); the log as it was when the registry refuses."""
    assert model.challenger is not None
    log_file = project / ml_contract.AUDIT_LOG_FILE
    before = log_file.read_bytes() if log_file.exists() else None
    version = model.challenger.version
    entry = audit_log.append(log_file, audit_log.AuditRecord(
        action="canary", outcome="rolled-back" if decision.action == ROLLBACK else "stepped",
        model_name=name, version=None if version is None else str(version),
        actor=audit_log.current_actor(), at=audit_log.now(), reasons=decision.reasons,
        details={"environment": env, "weight": decision.weight,
                 "next_weight": decision.next_weight,
                 "challenger": model.challenger.model_uri(name)}))
    try:
        with gate_credentials():
            # The head only: the version's own record reference stays its promotion's.
            audit_log.record_in_registry(reachable_target(project).client(),
                                         {**entry, "version": None})
    except (TrackingServerError, RegistryError) as error:
        if before is None:
            log_file.unlink()
        else:
            log_file.write_bytes(before)
        raise CanaryError(f"the registry did not record the canary's decision, so nothing "
                          f"changed: {error}") from None
    return entry


def apply(project: Path, env: str, decision: Decision, do_commit: bool) -> str:
    path = manifest_path(env)
    manifest = load_deployment(project / path)
    if decision.action not in (ROLLBACK, STEP):
        return f"{path}: unchanged"
    name = model_name(project)
    model = served_model(manifest, name)
    assert model is not None and model.challenger is not None  # run() judged it
    weight = decision.next_weight if decision.action == STEP else None
    record(project, name, model, env, decision)
    write_manifest(project / path, with_challenger_weight(manifest, name, weight))
    message = commit_message(f"{name} challenger {model.challenger.model_uri(name)}", env,
                             decision)
    if do_commit:
        commit(project, path, message, project / ml_contract.AUDIT_LOG_FILE)
    return f"{path}: {message}"


def commit_message(challenger: str, env: str, decision: Decision) -> str:
    if decision.action == STEP:
        return f"canary: {challenger} to {decision.next_weight:.0%} in {env}"
    return f"canary: roll back {challenger} in {env}: {decision.reasons[0]}"


def served_model(manifest: DeploymentManifest, name: str) -> ServedModel | None:
    return next((model for model in manifest.models if model.name == name), None)


# --- the command -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Step a challenger's weight up while it holds against the "
        "champion, or roll it back. Exit 0: held, stepped or complete; 1: rolled back; 2: "
        "could not check.")
    parser.add_argument("--project", type=Path, default=Path("."))
    parser.add_argument("--env", choices=("dev", "staging", "prod"), required=True)
    parser.add_argument("--plan", type=Path, default=None, help=f"default <project>/{PLAN_FILE}")
    parser.add_argument("--prometheus", default=None,
                        help=f"Prometheus' URL (default ${PROMETHEUS_ENV})")
    parser.add_argument("--predictions", default=None,
                        help="the prediction log (file, folder or s3:// prefix), for accuracy")
    parser.add_argument("--labels", default=None, help="its labels (with --predictions)")
    parser.add_argument("--no-commit", dest="commit", action="store_false",
                        help="only edit the files (default: commit the manifest and the log)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> Decision:
    project = args.project.resolve()
    url = args.prometheus or os.environ.get(PROMETHEUS_ENV)
    if not url:
        raise CanaryError(f"no Prometheus to read: give --prometheus URL or {PROMETHEUS_ENV}")
    plan = load_plan(args.plan or project / PLAN_FILE)
    path = project / manifest_path(args.env)
    name = model_name(project)
    model = served_model(load_deployment(path), name)
    if model is None or model.challenger is None:
        what = "no challenger" if model else "no served version"
        return Decision(IDLE, 0.0, None, [f"{path.relative_to(project)} declares {what} of "
                                          f"{name!r}: nothing to roll out"])
    evidence = prometheus_evidence(url, name, plan.window)
    if args.predictions and args.labels:
        evidence = with_labels(evidence, args.predictions, args.labels)
    return decide(plan, model.challenger.weight, evidence)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        decision = run(args)
        change = apply(args.project.resolve(), args.env, decision, args.commit)
    except (CanaryError, DeploymentManifestError, DeployError, audit_log.AuditLogError) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return UNCHECKED
    print(f"{decision.action.upper()}: {'; '.join(decision.reasons)}")
    print(change)
    return EXIT_CODES[decision.action]


if __name__ == "__main__":
    raise SystemExit(main())
