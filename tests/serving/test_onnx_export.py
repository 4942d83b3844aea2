"""The ONNX export is served only when it predicts as the model does on the test set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from mlops_platform import contract
from mlops_platform.onnx_export import (
    PROBABILITY_TOLERANCE,
    check,
    choose_serving_path,
    convert,
)
from mlops_platform.onnx_predictor import OnnxPredictor


def table(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame({"age": rng.integers(18, 90, rows),
                             "score": rng.normal(size=rows),
                             "plan": rng.choice(["basic", "plus", "pro"], rows)})
    return features, (features["age"] + 20 * features["score"] > 50).astype(int)


def pipeline(*numeric_steps) -> Pipeline:
    # The template's model: scaling, one-hot encoding, logistic regression.
    numeric = Pipeline([*numeric_steps, ("scale", StandardScaler())]) if numeric_steps \
        else StandardScaler()
    features = ColumnTransformer([("numeric", numeric, ["age", "score"]),
                                  ("categorical", OneHotEncoder(handle_unknown="ignore"),
                                   ["plan"])])
    return Pipeline([("features", features), ("classifier", LogisticRegression())])


@pytest.fixture(scope="module")
def fitted() -> tuple[Pipeline, pd.DataFrame]:
    features, target = table(400)
    test, _ = table(150, seed=1)
    return pipeline().fit(features, target), test


def test_the_template_model_is_served_by_onnx_runtime_with_equal_predictions(fitted):
    model, test = fitted
    path = choose_serving_path(model, test)
    assert path.path == contract.SERVING_PATH_ONNX
    assert "checked on 150 test rows: 0 labels differ" in path.reason
    predictor = OnnxPredictor(path.onnx)
    assert (predictor.predict(test) == model.predict(test)).all()
    assert np.abs(predictor.predict_proba(test) - model.predict_proba(test)).max() \
        <= PROBABILITY_TOLERANCE


def test_an_export_of_another_model_is_refused(fitted):
    model, test = fitted
    other_features, other_target = table(400, seed=7)
    other = pipeline().fit(other_features, 1 - other_target)
    result = check(model, convert(other, test.head(1)), test)
    assert not result.passed
    assert result.label_mismatches > 0
    assert f"{result.label_mismatches} labels differ" in result.describe()


def test_a_model_skl2onnx_cannot_convert_is_served_by_mlflow_saying_why():
    features, target = table(200)
    model = pipeline(("custom", FunctionTransformer(np.square))).fit(features, target)
    path = choose_serving_path(model, features)
    assert path.path == contract.SERVING_PATH_MLFLOW
    assert path.onnx is None
    assert path.reason.startswith("skl2onnx cannot convert the model (")
    assert "MLflow flavor" in path.describe()


def test_the_predictor_names_the_columns_a_request_lacks(fitted):
    model, test = fitted
    predictor = OnnxPredictor(convert(model, test.head(1)))
    with pytest.raises(KeyError, match=r"\['plan'\]"):
        predictor.predict(test.drop(columns=["plan"]))


def test_a_bare_estimator_on_numbers_is_exported_as_one_matrix_in_column_order():
    features, target = table(300)
    numbers = features[["age", "score"]]
    model = LogisticRegression().fit(numbers, target)
    path = choose_serving_path(model, numbers)
    assert path.path == contract.SERVING_PATH_ONNX
    predictor = OnnxPredictor(path.onnx)
    assert predictor.columns == ["age", "score"]
    # Columns in another order are fed in the model's order.
    assert (predictor.predict(numbers[["score", "age"]]) == model.predict(numbers)).all()


def test_columns_whose_names_onnx_inputs_cannot_hold_are_fed_by_position():
    features, target = table(300)
    spaced = features.rename(columns={"age": "age in years", "plan": "plan/tier"})
    model = Pipeline([
        ("features", ColumnTransformer([
            ("numeric", StandardScaler(), ["age in years", "score"]),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["plan/tier"])])),
        ("classifier", LogisticRegression())]).fit(spaced, target)
    path = choose_serving_path(model, spaced)
    assert path.path == contract.SERVING_PATH_ONNX, path.reason
    assert OnnxPredictor(path.onnx).columns == ["age in years", "score", "plan/tier"]
