"""A/B tests between the champion and a challenger: a plan made before the test, and a report
that decides it at a fixed horizon.

``mlops-ab-report --plan ab_test.yaml --predictions monitoring/predictions.jsonl --labels
monitoring/labels/ --report-dir monitoring/ab_test`` reads the plan (``Plan``: the metric, the
champion's expected value, the minimum detectable effect, alpha, power, one- or two-sided, the
challenger's share of traffic and the non-inferiority margin), gives each arm's planned sample
size (statsmodels' power of two independent proportions), and judges the prediction log's rows
that carry an ``arm`` (``mlops_platform.prediction_log``), joined with their labels
(``ground_truth.join_labels``; local files or ``s3://`` prefixes, as ``mlops-performance``).

The decision, checked in this order:

- ``sample-ratio-mismatch``: the logged rows of the two arms are not split as planned
  (chi-square goodness of fit, p below ``srm_alpha``): the split is broken, the test stops and
  no comparison is made;
- ``not-enough-data``: an arm has fewer labelled rows than its planned sample size. The
  horizon is fixed: whatever the data shows before it, nothing else is decided (looking early
  and stopping on a good day would make the error rates the plan states untrue);
- ``better``: the lower bound of the difference's confidence interval (challenger minus
  champion, in the direction where more is better) is above 0;
- ``not-worse``: it is above minus the non-inferiority margin;
- ``worse``: otherwise; the challenger is not shown to be within the margin of the champion.

Exit 0: decided better, not worse, or not enough data yet (the test goes on); 1: worse, or a
sample-ratio mismatch (stop the challenger); 2: could not check (a bad plan, an unreadable log,
no row of an A/B test), with one line naming the cause and the fix. Reports:
``ab_report.md`` and ``ab_report.json`` in a folder or under an ``s3://`` prefix.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlops_platform.drift import DriftInputError, write_reports
from mlops_platform.ground_truth import join_labels
from mlops_platform.performance import same_typed_classes
from mlops_platform.prediction_log import (
    ARM,
    ARMS,
    CHALLENGER_ARM,
    CHAMPION_ARM,
    LABEL,
    MODEL_VERSION,
    PREDICTION,
    PREDICTION_ID,
    SERVED_AT,
)
from mlops_platform.prediction_store import StoreError, read_labels, read_lines

PROGRAM = "mlops-ab-report"
PLAN_FILE = "ab_test.yaml"
MARKDOWN_REPORT = "ab_report.md"
JSON_REPORT = "ab_report.json"
DECIDED, STOP, UNCHECKED = 0, 1, 2

BETTER = "better"
NOT_WORSE = "not-worse"
WORSE = "worse"
NOT_ENOUGH_DATA = "not-enough-data"
SAMPLE_RATIO_MISMATCH = "sample-ratio-mismatch"
DECISIONS = (BETTER, NOT_WORSE, WORSE, NOT_ENOUGH_DATA, SAMPLE_RATIO_MISMATCH)
EXIT_CODES = {BETTER: DECIDED, NOT_WORSE: DECIDED, NOT_ENOUGH_DATA: DECIDED, WORSE: STOP,
              SAMPLE_RATIO_MISMATCH: STOP}

# The share of correct predictions, or of wrong ones: proportions of labelled rows.
HIGHER_IS_BETTER = {"accuracy": True, "error_rate": False}
METRICS = tuple(HIGHER_IS_BETTER)


class ABTestInputError(ValueError):
    """The report cannot run on these inputs; the message names the input and the fix."""


# --- the plan --------------------------------------------------------------------------------


class Plan(BaseModel):
    """An A/B test's plan: written before it starts, never changed while it runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Literal["accuracy", "error_rate"] = Field(
        description="the proportion compared: accuracy (correct predictions) or error_rate")
    baseline: float = Field(gt=0, lt=1, description="the champion's expected value of metric")
    minimum_detectable_effect: float = Field(
        gt=0, lt=1, description="the smallest improvement worth detecting, in metric's units")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="the chance of calling an equal "
                         "challenger better")
    power: float = Field(0.8, gt=0.5, lt=1, description="the chance of detecting an "
                         "improvement of minimum_detectable_effect")
    alternative: Literal["one-sided", "two-sided"] = Field(
        "one-sided", description="one-sided: only an improvement is tested for")
    challenger_weight: float = Field(
        0.5, gt=0, lt=1, description="the challenger's share of the traffic")
    non_inferiority_margin: float = Field(
        0.0, ge=0, lt=1, description="how much worse than the champion still counts as not worse")
    srm_alpha: float = Field(0.001, gt=0, lt=0.5, description="the p-value below which the "
                             "split is called broken (sample-ratio mismatch)")

    @model_validator(mode="after")
    def _improvement_is_possible(self) -> Plan:
        improved = self.baseline + self.sign * self.minimum_detectable_effect
        if not 0 < improved < 1:
            raise ValueError(
                f"baseline {self.baseline:g} improved by minimum_detectable_effect "
                f"{self.minimum_detectable_effect:g} leaves (0, 1): lower the effect")
        return self

    @property
    def sign(self) -> int:
        """1 when more of the metric is better, -1 when less is."""
        return 1 if HIGHER_IS_BETTER[self.metric] else -1

    @property
    def interval_alpha(self) -> float:
        """The alpha of the two-sided interval whose lower bound is the test: a one-sided test
        at alpha reads the lower bound of a 1 - 2 alpha interval."""
        return 2 * self.alpha if self.alternative == "one-sided" else self.alpha

    def sample_sizes(self) -> dict[str, int]:
        """The labelled rows each arm needs (statsmodels: the normal power of two independent
        proportions, Cohen's h effect size, the arms in the planned ratio)."""
        return dict(_sample_sizes(self))


@functools.cache
def _sample_sizes(plan: Plan) -> tuple[tuple[str, int], ...]:
    # Cached: statsmodels solves for the size iteratively (about 30 ms), and a simulation
    # decides the same plan many times.
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    improved = plan.baseline + plan.sign * plan.minimum_detectable_effect
    effect = abs(proportion_effectsize(improved, plan.baseline))
    ratio = plan.challenger_weight / (1 - plan.challenger_weight)
    champion = NormalIndPower().solve_power(
        effect_size=effect, alpha=plan.alpha, power=plan.power, ratio=ratio,
        alternative="larger" if plan.alternative == "one-sided" else "two-sided")
    return ((CHAMPION_ARM, int(np.ceil(champion))),
            (CHALLENGER_ARM, int(np.ceil(champion * ratio))))


def load_plan(path: Path) -> Plan:
    """The plan in ``path``; a bad one is one line naming the key and the fix."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ABTestInputError(f"cannot read the plan {path}: {error.strerror}; write it "
                               f"first (docs/ab-testing.md shows one)") from error
    except yaml.YAMLError as error:
        raise ABTestInputError(f"the plan {path} is not YAML: {error}".replace("\n", " ")) \
            from error
    if not isinstance(data, dict):
        raise ABTestInputError(f"the plan {path} is not a mapping of keys: write keys such as "
                               "metric, baseline and minimum_detectable_effect")
    try:
        return Plan.model_validate(data)
    except ValidationError as error:
        raise ABTestInputError(f"the plan {path}: {_first_problem(error)}") from error


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    key = ".".join(str(part) for part in problem["loc"])
    if problem["type"] == "extra_forbidden":
        return (f"{key} is not a key of a plan: remove it (the keys are "
                f"{', '.join(Plan.model_fields)})")
    if problem["type"] == "missing":
        return f"{key} is missing: add it ({Plan.model_fields[key].description})"
    if not key:
        return f"{problem['msg'].removeprefix('Value error, ')}"
    described = Plan.model_fields[key].description
    return f"{key}: {problem['msg']} (got {problem.get('input')!r}); {key} is {described}"


# --- the arms --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """One arm's rows: ``logged`` predictions, ``labelled`` of them, ``correct`` of those."""

    name: str
    logged: int
    labelled: int
    correct: int
    versions: tuple[str, ...] = ()


def arms_of(predictions: pd.DataFrame, labels: pd.DataFrame) -> dict[str, Arm]:
    """Each arm's counts from the log's rows that carry an arm, joined with their labels."""
    if ARM not in predictions:
        raise ABTestInputError(
            "no prediction in the log carries an arm: no A/B test has served these rows (the "
            "server logs `arm` once a split sends it traffic), or --predictions is another log")
    logged = predictions[predictions[ARM].isin(ARMS)].drop_duplicates(PREDICTION_ID)
    if logged.empty:
        raise ABTestInputError(
            f"no prediction in the log carries the arm {' or '.join(ARMS)}: no A/B test has "
            "served these rows yet, or --predictions is another log")
    logged = logged.assign(**{SERVED_AT: pd.to_numeric(logged[SERVED_AT], errors="coerce")})
    joined = join_labels(logged, labels).rows.dropna(subset=[LABEL, PREDICTION])
    truth, predicted = same_typed_classes(joined[LABEL], joined[PREDICTION])
    correct = pd.Series(truth == predicted, index=joined.index)
    return {arm: Arm(arm, int((logged[ARM] == arm).sum()), int((joined[ARM] == arm).sum()),
                     int(correct[joined[ARM] == arm].sum()),
                     _versions(logged[logged[ARM] == arm]))
            for arm in ARMS}


def _versions(rows: pd.DataFrame) -> tuple[str, ...]:
    if MODEL_VERSION not in rows:
        return ()
    return tuple(sorted(rows[MODEL_VERSION].dropna().astype(str).unique()))


# --- the decision ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Decision:
    decision: str
    reason: str
    sample_ratio_p: float
    planned: dict[str, int]
    arms: dict[str, Arm]
    metrics: dict[str, Estimate]  # each arm's metric, in the plan's units
    difference: Estimate | None  # challenger minus champion, in the plan's units

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def summary(self, plan: Plan) -> dict[str, Any]:
        return {"decision": self.decision, "reason": self.reason, "exit_code": self.exit_code,
                "plan": plan.model_dump(), "planned_sample_size": self.planned,
                "sample_ratio_p": self.sample_ratio_p,
                "arms": {name: {**asdict(arm), plan.metric: asdict(self.metrics[name])}
                         for name, arm in self.arms.items()},
                "difference": None if self.difference is None else asdict(self.difference)}


def sample_ratio_p(arms: dict[str, Arm], challenger_weight: float) -> float:
    """The chi-square goodness-of-fit p-value of the logged rows' split against the plan's."""
    from scipy.stats import chisquare

    observed = np.array([arms[CHAMPION_ARM].logged, arms[CHALLENGER_ARM].logged], dtype=float)
    if observed.sum() == 0:
        return 1.0
    expected = observed.sum() * np.array([1 - challenger_weight, challenger_weight])
    return float(chisquare(observed, expected).pvalue)


def decide(plan: Plan, arms: dict[str, Arm]) -> Decision:
    planned = plan.sample_sizes()
    p_value = sample_ratio_p(arms, plan.challenger_weight)
    metrics = {name: _arm_metric(plan, arm) for name, arm in arms.items()}
    difference = _difference(plan, arms)

    def decision(name: str, reason: str) -> Decision:
        return Decision(name, reason, p_value, planned, arms, metrics, difference)

    if p_value < plan.srm_alpha:
        return decision(SAMPLE_RATIO_MISMATCH, _mismatch_reason(plan, arms, p_value))
    short = [name for name in ARMS if arms[name].labelled < planned[name]]
    if short:
        return decision(NOT_ENOUGH_DATA, "; ".join(
            f"the {name} has {arms[name].labelled} of its {planned[name]} labelled rows"
            for name in short) + ": the horizon is fixed, nothing is decided before it")
    assert difference is not None  # both arms reached their planned rows
    gain = _gain(plan, difference)  # the interval in the direction where more is better
    if gain.low > 0:
        return decision(BETTER, f"the challenger's gain is above 0 (interval {_range(gain)})")
    margin = plan.non_inferiority_margin
    if gain.low > -margin:
        return decision(NOT_WORSE, f"the challenger's gain is above -{margin:g}, the margin "
                        f"(interval {_range(gain)})")
    return decision(WORSE, f"the challenger's gain may be below -{margin:g}, the margin "
                    f"(interval {_range(gain)}): keep the champion")


def _arm_metric(plan: Plan, arm: Arm) -> Estimate:
    from statsmodels.stats.proportion import proportion_confint

    if arm.labelled == 0:
        return Estimate(float("nan"), float("nan"), float("nan"))
    count = _metric_count(plan, arm)
    low, high = proportion_confint(count, arm.labelled, alpha=plan.interval_alpha,
                                   method="wilson")
    return Estimate(count / arm.labelled, float(low), float(high))


def _metric_count(plan: Plan, arm: Arm) -> int:
    return arm.correct if HIGHER_IS_BETTER[plan.metric] else arm.labelled - arm.correct


def _difference(plan: Plan, arms: dict[str, Arm]) -> Estimate | None:
    """Challenger minus champion with its interval (statsmodels' Newcombe hybrid score)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    challenger, champion = arms[CHALLENGER_ARM], arms[CHAMPION_ARM]
    if challenger.labelled == 0 or champion.labelled == 0:
        return None
    low, high = confint_proportions_2indep(
        _metric_count(plan, challenger), challenger.labelled, _metric_count(plan, champion),
        champion.labelled, method="newcombe", compare="diff", alpha=plan.interval_alpha)
    value = (_metric_count(plan, challenger) / challenger.labelled
             - _metric_count(plan, champion) / champion.labelled)
    return Estimate(float(value), float(low), float(high))


def _gain(plan: Plan, difference: Estimate) -> Estimate:
    if HIGHER_IS_BETTER[plan.metric]:
        return difference
    return Estimate(-difference.value, -difference.high, -difference.low)


def _range(estimate: Estimate) -> str:
    return f"{estimate.low:+.4f} to {estimate.high:+.4f}"


def _mismatch_reason(plan: Plan, arms: dict[str, Arm], p_value: float) -> str:
    total = arms[CHAMPION_ARM].logged + arms[CHALLENGER_ARM].logged
    share = arms[CHALLENGER_ARM].logged / total
    return (f"the challenger logged {share:.1%} of {total} rows, planned "
            f"{plan.challenger_weight:.1%} (chi-square p {p_value:.2g} < srm_alpha "
            f"{plan.srm_alpha:g}): the split is broken, the test stops; fix the split and "
            "start a new test")


# --- reading, reporting, the command line ----------------------------------------------------


def read_arms(predictions_uri: str, labels_uri: str) -> dict[str, Arm]:
    try:
        predictions = read_lines(predictions_uri)
        labels = read_labels(labels_uri)
    except StoreError as error:
        raise ABTestInputError(str(error)) from error
    if predictions.empty:
        raise ABTestInputError(f"the prediction log {predictions_uri} holds no predictions: "
                               "give the location the arms' servers log to")
    missing = [name for name in (PREDICTION_ID, PREDICTION, SERVED_AT)
               if name not in predictions]
    if missing:
        raise ABTestInputError(
            f"{predictions_uri} has no {', '.join(missing)} column: it is not in the "
            "prediction-log format (mlops_platform.prediction_log)")
    return arms_of(predictions, labels)


def markdown(plan: Plan, result: Decision) -> str:
    unit = plan.metric
    lines = [f"# A/B test: {result.decision}", "", result.reason, "",
             f"Plan: {unit}, baseline {plan.baseline:g}, minimum detectable effect "
             f"{plan.minimum_detectable_effect:g}, alpha {plan.alpha:g} ({plan.alternative}), "
             f"power {plan.power:g}, challenger weight {plan.challenger_weight:g}, "
             f"non-inferiority margin {plan.non_inferiority_margin:g}.", "",
             f"| arm | versions | logged | labelled / planned | {unit} | "
             f"{1 - plan.interval_alpha:.0%} interval |", "|---|---|---|---|---|---|"]
    for name, arm in result.arms.items():
        metric = result.metrics[name]
        lines.append(f"| {name} | {', '.join(arm.versions) or '-'} | {arm.logged} | "
                     f"{arm.labelled} / {result.planned[name]} | {metric.value:.4f} | "
                     f"{metric.low:.4f} to {metric.high:.4f} |")
    if result.difference is not None:
        lines += ["", f"Difference (challenger - champion): {result.difference.value:+.4f}, "
                  f"interval {_range(result.difference)}."]
    lines += ["", f"Sample ratio: chi-square p {result.sample_ratio_p:.3g} (the test stops "
              f"below {plan.srm_alpha:g})."]
    return "\n".join(lines) + "\n"


def report(plan: Plan, plan_path: Path, predictions_uri: str, labels_uri: str,
           report_dir: str) -> tuple[Decision, tuple[str, str]]:
    result = decide(plan, read_arms(predictions_uri, labels_uri))
    body = {**result.summary(plan), "plan_file": str(plan_path), "predictions": predictions_uri,
            "labels": labels_uri}
    try:
        paths = write_reports(report_dir, markdown(plan, result), body,
                              names=(MARKDOWN_REPORT, JSON_REPORT))
    except DriftInputError as error:
        raise ABTestInputError(str(error)) from error
    return result, paths


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Decide an A/B test between the champion and a challenger at its planned "
        "horizon. Exit 0: better, not worse or not enough data yet; 1: worse or sample-ratio "
        "mismatch; 2: could not check.")
    parser.add_argument("--plan", type=Path, default=Path(PLAN_FILE),
                        help=f"the experiment plan (default {PLAN_FILE})")
    parser.add_argument("--predictions", required=True,
                        help="the prediction log: file, folder or s3:// prefix")
    parser.add_argument("--labels", required=True, help="its labels: file, folder or s3:// prefix")
    parser.add_argument("--report-dir", required=True,
                        help="folder or s3:// URI for ab_report.md and ab_report.json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        plan = load_plan(args.plan)
        result, paths = report(plan, args.plan, args.predictions, args.labels, args.report_dir)
    except ABTestInputError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return UNCHECKED
    print(f"{result.decision.upper()}: {result.reason}")
    for name, arm in result.arms.items():
        metric = result.metrics[name]
        print(f"{name}: {plan.metric} {metric.value:.4f} ({_range(metric)}) on {arm.labelled} "
              f"labelled rows of {result.planned[name]} planned, {arm.logged} logged")
    print(f"reports: {' '.join(paths)}")
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
