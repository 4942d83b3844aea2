"""Stage evaluate: test metrics and permutation importance, logged to the run; the model card."""

from __future__ import annotations

import json
from typing import Any

import mlflow
import mlflow.sklearn
import pandas as pd
from mlops_platform import contract as ml_contract
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data import load_prepared, split_features
from {{ cookiecutter.package_name }}.model_card import render_model_card
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.platform import connect, tracking_server_guard
from {{ cookiecutter.package_name }}.records import METRICS_FILE, MODEL_CARD_FILE, RUN_FILE
from {{ cookiecutter.package_name }}.steps import run_step


def compute_metrics(model: Pipeline, features: pd.DataFrame, target: pd.Series) -> dict[str, float]:
    predicted = model.predict(features)
    scores = model.predict_proba(features)[:, 1]
    return {
        "roc_auc": float(roc_auc_score(target, scores)),
        "f1": float(f1_score(target, predicted)),
        "accuracy": float(accuracy_score(target, predicted)),
        "precision": float(precision_score(target, predicted, zero_division=0)),
        "recall": float(recall_score(target, predicted)),
    }


def feature_importance(model: Pipeline, features: pd.DataFrame, target: pd.Series,
                       metric: str, n_repeats: int) -> list[dict[str, Any]]:
    """Permutation importance on the test set: how much the metric drops per shuffled feature.

    The metric names params.yaml accepts (params.Promotion) are scikit-learn scorer names.
    """
    result = permutation_importance(model, features, target, scoring=metric,
                                    n_repeats=n_repeats, random_state=0)
    ranked = sorted(zip(features.columns, result.importances_mean, result.importances_std,
                        strict=True), key=lambda item: -item[1])
    return [{"feature": name, "mean": float(mean), "std": float(std)}
            for name, mean, std in ranked]


def evaluate() -> None:
    params = load_params()
    run = json.loads(RUN_FILE.read_text())
    outputs = connect()
    contract = load_contract()
    _, test = load_prepared()
    features, target = split_features(test, contract["target"])
    metric = params.promotion.primary_metric
    with tracking_server_guard(outputs):
        model = mlflow.sklearn.load_model(run["model_uri"])
        metrics = compute_metrics(model, features, target)
        importance = feature_importance(model, features, target, metric,
                                        params.explain.n_repeats)
        tags = mlflow.get_run(run["run_id"]).data.tags
        card = render_model_card(params, run, tags, metrics, importance, rows_test=len(test))
        with mlflow.start_run(run_id=run["run_id"]):
            mlflow.log_metrics(metrics, model_id=run["model_id"])
            mlflow.log_text(card, ml_contract.MODEL_CARD_ARTIFACT)
            mlflow.log_dict({"permutation_importance": importance}, "explainability.json")
    METRICS_FILE.parent.mkdir(parents=True, exist_ok=True)
    METRICS_FILE.write_text(json.dumps(metrics, indent=2) + "\n")
    MODEL_CARD_FILE.write_text(card)
    print(f"{metric} = {metrics[metric]:.4f} on {len(test)} test rows")


def main() -> int:
    return run_step("evaluate", evaluate)


if __name__ == "__main__":
    raise SystemExit(main())
