"""Per-prediction explanations of the template's kind of model: exact, additive, and clear
about what they cannot explain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops_platform import explanations
from tests.serving.test_onnx_export import pipeline, table


@pytest.fixture(scope="module")
def fitted() -> tuple[Pipeline, pd.DataFrame]:
    features, target = table(400)
    test, _ = table(40, seed=1)
    return pipeline().fit(features, target), test


def test_each_rows_contributions_add_up_to_its_score(fitted) -> None:
    model, test = fitted
    found = explanations.explain(model, test, top=2)
    assert [item["value"] for item in found] == pytest.approx(
        model.decision_function(test).tolist(), abs=explanations.ADDITIVITY_TOLERANCE)
    assert max(explanations.additivity_gap(item) for item in found) \
        < explanations.ADDITIVITY_TOLERANCE
    assert all(len(item["contributions"]) == 2 for item in found)


def test_contributions_are_largest_first_and_one_per_input_column(fitted) -> None:
    model, test = fitted
    found = explanations.explain(model, test.head(5), top=10)
    for item in found:
        sizes = [abs(entry["contribution"]) for entry in item["contributions"]]
        assert sizes == sorted(sizes, reverse=True)
        # A category's one-hot columns add up to one contribution of its input column.
        assert sorted(entry["feature"] for entry in item["contributions"]) == sorted(test.columns)
        assert item["others"] == 0.0


def test_a_number_at_its_training_mean_contributes_nothing() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [5.0, 1.0, 4.0, 2.0]})
    target = [0, 0, 1, 1]
    model = Pipeline([("features", ColumnTransformer([("numeric", StandardScaler(), ["x", "y"])])),
                      ("classifier", LogisticRegression())]).fit(frame, target)
    [item] = explanations.explain(model, pd.DataFrame({"x": [1.5], "y": [3.0]}))
    assert item["value"] == pytest.approx(item["base_value"])
    assert [entry["contribution"] for entry in item["contributions"]] == pytest.approx([0, 0])


def test_multiclass_rows_explain_their_predicted_class() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=90), "c": rng.choice(["a", "b"], size=90)})
    target = np.digitize(frame["x"], [-0.5, 0.5])
    model = Pipeline([
        ("features", ColumnTransformer([("numeric", StandardScaler(), ["x"]),
                                        ("categorical", OneHotEncoder(), ["c"])])),
        ("classifier", LogisticRegression())]).fit(frame, target)
    found = explanations.explain(model, frame.head(10))
    assert [item["class"] for item in found] == model.predict(frame.head(10)).tolist()
    scores = model.decision_function(frame.head(10))
    assert [item["value"] for item in found] == pytest.approx(scores.max(axis=1).tolist())
    assert max(explanations.additivity_gap(item) for item in found) \
        < explanations.ADDITIVITY_TOLERANCE


def test_a_model_without_coefficients_is_refused_naming_why() -> None:
    frame, target = table(50)
    numeric = frame.select_dtypes("number").columns.tolist()
    forest = Pipeline([("features", ColumnTransformer([("numeric", StandardScaler(), numeric)])),
                       ("classifier", RandomForestClassifier(n_estimators=3))]).fit(frame, target)
    with pytest.raises(explanations.ExplanationError, match="RandomForestClassifier has no "
                       "coefficients"):
        explanations.explain(forest, frame)
    with pytest.raises(explanations.ExplanationError, match="a Pipeline of a ColumnTransformer"):
        explanations.explain(LogisticRegression().fit(frame[numeric], target), frame[numeric])


def test_global_importance_ranks_the_mean_absolute_contributions(fitted) -> None:
    model, test = fitted
    ranked = explanations.global_importance(model, test)
    assert sorted(item["feature"] for item in ranked) == sorted(test.columns)
    means = [item["mean_abs_contribution"] for item in ranked]
    assert means == sorted(means, reverse=True) and means[0] > 0
