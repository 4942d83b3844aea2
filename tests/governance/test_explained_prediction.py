"""The evidence of L2-explanations: one prediction of a loaded model, explained step by step,
adds up to the model's own score; a model it cannot explain is no evidence."""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from mlops_platform.governance.checks import explanation_outcome
from tests.serving.test_onnx_export import pipeline, table


def test_an_explained_row_that_adds_up_to_the_score_passes() -> None:
    features, target = table(300)
    model = pipeline().fit(features, target)
    outcome = explanation_outcome(model, features.head(1), "4")
    assert outcome.passed
    evidence = outcome.reason
    score = model.decision_function(features.head(1))[0]
    assert f"= its score {score:.4f}" in evidence and evidence.startswith("version 4 explained")


def test_a_model_without_additive_contributions_fails_naming_why() -> None:
    features, target = table(300)
    forest = Pipeline([("features", pipeline()[0]),
                       ("classifier", RandomForestClassifier(n_estimators=3, random_state=0))])
    outcome = explanation_outcome(forest.fit(features, target), features.head(1), "5")
    assert not outcome.passed
    assert outcome.reason.startswith("version 5 cannot explain a prediction")
