"""Features and model as one scikit-learn pipeline, shaped by the data contract."""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from {{ cookiecutter.package_name }}.params import Train

CLASSIFIER = "classifier"  # the pipeline step the tuned hyperparameters belong to


def feature_columns(contract: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature names, the target left out."""
    features = [c for c in contract["columns"] if c["name"] != contract["target"]]
    numeric = [c["name"] for c in features if c["dtype"] in {"float", "int"}]
    categorical = [c["name"] for c in features if c["dtype"] == "str"]
    return numeric, categorical


def build_model(contract: dict[str, Any], train: Train,
                hyperparameters: dict[str, float] | None = None) -> Pipeline:
    """The pipeline; `hyperparameters` (the tune stage's choice) set the classifier's."""
    numeric, categorical = feature_columns(contract)
    preprocess = ColumnTransformer([
        ("numeric", StandardScaler(), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])
    classifier = LogisticRegression(max_iter=train.max_iter, **(hyperparameters or {}))
    return Pipeline([("features", preprocess), (CLASSIFIER, classifier)])
