"""The ML Test Score (Breck et al., "The ML Test Score: A Rubric for ML Production
Readiness and Technical Debt Reduction", IEEE Big Data 2017), read off our controls.

Each of the 28 tests is evidenced by controls of the catalogue: 1 point when the
controls of its automated evidence pass, ½ point when only those of its manual
evidence (a documented, human-run result) pass, 0 otherwise or when no control of
ours evidences it. A section's score is the sum of its tests; the final score is
the lowest section score. Controls pass only on evidence the checker produced (tests
it ran, probes, the registry), and each credited test names that evidence.

The mapping is a careful reading of the paper, not of our intentions: a test is only
credited for what the project really does. A project ages its champion out (monitoring-4)
but nobody measures what staleness costs (model-4: 0); drift of served inputs is not
training/serving skew (monitoring-3: only a project with a feature store checks that);
nothing sees the labels of served data (monitoring-7: 0) nor a protected attribute
(model-7: 0). Tuning, the trivial baseline, data slices and numerical stability are
credited only from the project's tests (they fail when the code is broken) and from what the
registered run logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SECTIONS = ("data", "model", "infrastructure", "monitoring")
AUTOMATED, MANUAL = 1.0, 0.5
# The paper's reading of the final score: (upper bound of the range, meaning), paraphrased.
INTERPRETATION = ((0.0, "more a research project than a productionized system"),
                  (1.0, "not totally untested, but serious holes in reliability are possible"),
                  (2.0, "a first pass at basic productionization; more investment may be needed"),
                  (3.0, "reasonably tested; more of the tests and procedures could be automated"),
                  (5.0, "strong levels of automated testing and monitoring, appropriate for "
                        "mission-critical systems"),
                  (float("inf"), "exceptional levels of automated testing and monitoring"))


@dataclass(frozen=True)
class RubricTest:
    id: str
    section: str
    title: str
    automated: tuple[str, ...] = ()
    manual: tuple[str, ...] = ()
    how: str = ""
    to_raise: str = ""


RUBRIC: tuple[RubricTest, ...] = (
    RubricTest(
        "data-1", "data",
        "Feature expectations are captured in a schema",
        automated=("L1-data-validation",),
        how="the data contract (pandera) is checked by the validate stage, which refuses "
            "corrupted data",
        to_raise="pass L1-data-validation"),
    RubricTest(
        "data-2", "data",
        "All features are beneficial",
        manual=("L0-model-card",),
        how="the model card documents each feature's permutation importance",
        to_raise="fail a test when a feature's importance is not above zero"),
    RubricTest(
        "data-3", "data",
        "No feature's cost is too much",
        to_raise="record each feature's latency and memory cost and test a budget"),
    RubricTest(
        "data-4", "data",
        "Features adhere to meta-level requirements",
        to_raise="list allowed feature sources in the data contract and test them"),
    RubricTest(
        "data-5", "data",
        "The data pipeline has appropriate privacy controls",
        to_raise="tag PII columns in the data contract and test they are dropped"),
    RubricTest(
        "data-6", "data",
        "New features can be added quickly",
        manual=("L2-pr-pipeline",),
        how="a pull request that adds a feature runs the pipeline on a sample and "
            "shows its metrics against the champion",
        to_raise="measure the time from a feature's pull request to its serving"),
    RubricTest(
        "data-7", "data",
        "All input feature code is tested",
        automated=("L0-tests", "L0-ci-tests"),
        how="unit tests of the feature code (they fail when it is broken) run on every pull "
            "request",
        to_raise="pass L0-tests and L0-ci-tests"),
    RubricTest(
        "model-1", "model",
        "Every model specification undergoes a code review and is checked in "
        "to a repository",
        manual=("L0-ci-tests",),
        how="model code changes by pull request, its tests run by CI; that a reviewer "
            "approved it is not something the project shows",
        to_raise="require a reviewed pull request (branch protection) and check it in CI"),
    RubricTest(
        "model-2", "model",
        "Offline proxy metrics correlate with actual online impact metrics",
        to_raise="log served predictions with their outcomes and compare the online "
                 "metric with the offline one"),
    RubricTest(
        "model-3", "model",
        "All hyperparameters have been tuned",
        automated=("L1-tuning", "L1-pipeline"),
        how="the pipeline's tune stage picks the hyperparameters by cross-validation and the "
            "registered run was trained with them",
        to_raise="pass L1-tuning and L1-pipeline"),
    RubricTest(
        "model-4", "model",
        "The impact of model staleness is known",
        to_raise="train on older data and record the metric lost per week of age"),
    RubricTest(
        "model-5", "model",
        "A simpler model is not better",
        automated=("L1-baseline", "L1-pipeline"),
        how="the evaluate stage refuses a model that does not beat a trivial baseline on the "
            "primary metric",
        to_raise="pass L1-baseline and L1-pipeline"),
    RubricTest(
        "model-6", "model",
        "Model quality is sufficient on all important data slices",
        automated=("L1-slices", "L0-ci-tests"),
        how="tests on every pull request hold each slice declared in params.yaml to its floor",
        to_raise="pass L1-slices and L0-ci-tests"),
    RubricTest(
        "model-7", "model",
        "The model has been tested for considerations of inclusion",
        to_raise="test the metric across groups of a protected attribute"),
    RubricTest(
        "infrastructure-1", "infrastructure",
        "Training is reproducible",
        automated=("L1-pipeline", "L0-lineage"), manual=("L0-data-versioned",),
        how="`dvc repro` rebuilds every stage; runs record commit and data hash",
        to_raise="pass L1-pipeline and L0-lineage"),
    RubricTest(
        "infrastructure-2", "infrastructure",
        "Model specification code is unit tested",
        automated=("L0-tests", "L0-ci-tests"),
        how="the model pipeline's construction is unit tested on every pull request",
        to_raise="pass L0-tests and L0-ci-tests"),
    RubricTest(
        "infrastructure-3", "infrastructure",
        "The full ML pipeline is integration tested",
        automated=("L2-pr-pipeline",),
        how="pull requests run the whole pipeline on a data sample against the platform",
        to_raise="pass L2-pr-pipeline"),
    RubricTest(
        "infrastructure-4", "infrastructure",
        "Model quality is validated before attempting to serve it",
        automated=("L1-model-validation", "L1-promotion-stage"),
        manual=("L0-promotion-gate",),
        how="the promotion gate (threshold, champion, validation, lineage, card) decides "
            "what becomes champion"),
    RubricTest(
        "infrastructure-5", "infrastructure",
        "The model allows debugging by observing the step-by-step "
        "computation of training or inference on a single example",
        automated=("L2-explanations",),
        how="the checker loads the registered version and explains one test row: the base "
            "value plus each feature's contribution is the model's own score (the served "
            "model's /explain gives the same per row)",
        to_raise="pass L2-explanations"),
    RubricTest(
        "infrastructure-6", "infrastructure",
        "Models are tested via a canary process before they enter "
        "production serving environments",
        automated=("L2-canary",),
        manual=("L2-staged-delivery",),
        how="a scheduled canary steps the challenger's share of production rows up while it "
            "keeps the champion's bounds, and rolls it back otherwise",
        to_raise="pass L2-canary (canary.yaml, make canary, its scheduled CI job)"),
    RubricTest(
        "infrastructure-7", "infrastructure",
        "Models can be quickly and safely rolled back to a previous "
        "serving version",
        automated=("L2-rollback", "L2-gitops-serving"),
        how="a rollback job reverts deploy/<env>.yaml to the previous version",
        to_raise="pass L2-rollback and L2-gitops-serving"),
    RubricTest(
        "monitoring-1", "monitoring",
        "Dependency changes result in notification",
        to_raise="a scheduled job that alerts when a pinned dependency or the data "
                 "source changes"),
    RubricTest(
        "monitoring-2", "monitoring",
        "Data invariants hold in training and serving inputs",
        automated=("L1-data-validation", "L2-serving-contract"),
        manual=("L1-data-validation", "L2-drift-retraining"),
        how="the data contract gates training and the model server refuses requests that "
            "break it",
        to_raise="pass L1-data-validation and L2-serving-contract"),
    RubricTest(
        "monitoring-3", "monitoring",
        "Training and serving features compute the same values",
        automated=("L1-feature-skew",),
        how="the feature store's online values of sampled keys are compared at every "
            "evaluation with the offline ones training read, and none differ",
        to_raise="bake with feature_store=feast: evaluation then checks the training/serving "
                 "skew of the feature store (or log served features and recompute them "
                 "offline from the raw inputs)"),
    RubricTest(
        "monitoring-4", "monitoring",
        "Models are not too stale",
        automated=("L2-staleness", "L2-drift-retraining"),
        manual=("L1-continuous-training",),
        how="the scheduled monitoring job gives the verdict retrain when the champion is "
            "older than the age params.yaml declares",
        to_raise="pass L2-staleness and L2-drift-retraining"),
    RubricTest(
        "monitoring-5", "monitoring",
        "The model is numerically stable",
        automated=("L1-numerical-stability", "L0-ci-tests"),
        how="training refuses a model that did not converge or predicts non-finite values, "
            "and the tests on every pull request check it",
        to_raise="pass L1-numerical-stability and L0-ci-tests"),
    RubricTest("monitoring-6", "monitoring",
        "The model has not experienced a dramatic or slow-leak regression in training "
        "speed, serving latency, throughput, or RAM usage",
        to_raise="benchmark serving latency in CI and alert on regressions"),
    RubricTest("monitoring-7", "monitoring",
        "The model has not experienced a regression in prediction quality on served data",
        to_raise="join served predictions with their labels and alert on the metric"),
)


def test_points(test: RubricTest, passed: dict[str, bool]) -> tuple[float, str]:
    """Points of one test and why."""
    if test.automated and all(passed[control] for control in test.automated):
        return AUTOMATED, f"automated: {test.how}"
    if test.manual and all(passed[control] for control in test.manual):
        return MANUAL, f"manual, documented: {test.how}"
    if not test.automated and not test.manual:
        return 0.0, "not evidenced by any control of the catalogue"
    failing = sorted({control for control in test.automated + test.manual
                      if not passed[control]})
    return 0.0, f"not evidenced: failing {', '.join(failing)}"


def raise_hint(test: RubricTest, points: float, passed: dict[str, bool]) -> str | None:
    if points >= AUTOMATED:
        return None
    failing = [control for control in test.automated if not passed[control]]
    if failing:
        return f"pass {', '.join(failing)}"
    return test.to_raise or None


def interpretation(score: float) -> str:
    """The meaning of the range (lower, upper] the score falls in (0 is its own range)."""
    return next(text for upper, text in INTERPRETATION if score <= upper)


def credited_controls(test: RubricTest, points: float) -> tuple[str, ...]:
    if points == AUTOMATED:
        return test.automated
    return test.manual if points == MANUAL else ()


def score_results(results: Any) -> dict[str, Any]:
    """The rubric against a scorecard's control results (each credit names its evidence)."""
    passed = {result.control.id: result.passed for result in results}
    evidence = {result.control.id: result.evidence for result in results}
    return score(passed, evidence)


def score(passed: dict[str, bool],
          evidence: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The rubric evaluated against which controls passed: per test, per section, final."""
    tests = []
    for test in RUBRIC:
        points, reason = test_points(test, passed)
        credited = credited_controls(test, points)
        tests.append({"id": test.id, "section": test.section, "title": test.title,
                      "points": points, "reason": reason,
                      "controls": {"automated": list(test.automated),
                                   "manual": list(test.manual)},
                      "evidence": [f"{control}: {line}" for control in credited
                                   for line in (evidence or {}).get(control, [])],
                      "to_raise": raise_hint(test, points, passed)})
    sections = {}
    for section in SECTIONS:
        of_section = [test for test in tests if test["section"] == section]
        automated = [t["id"] for t in of_section if t["points"] == AUTOMATED]
        manual = [t["id"] for t in of_section if t["points"] == MANUAL]
        points = sum(test["points"] for test in of_section)
        sections[section] = {
            "points": points, "automated": automated, "manual": manual,
            "not_evidenced": [t["id"] for t in of_section if t["points"] == 0],
            "explanation": f"{len(automated)} automated x 1 + {len(manual)} manual x 0.5 "
                           f"= {points:g} of 7",
        }
    final = min(section["points"] for section in sections.values())
    weakest = [name for name, section in sections.items() if section["points"] == final]
    return {"final": final, "interpretation": interpretation(final), "weakest": weakest,
            "sections": sections, "tests": tests}
