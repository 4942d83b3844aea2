"""Stage evaluate: test metrics, permutation importance and the features' mean contribution to
the model's score (the same exact, additive contributions the served model's /explain gives per
row), logged to the run; the model card.

The model must beat a trivial baseline (guesses by class frequency) on the primary metric,
or the stage refuses it before anything registers it; the metric per data slice goes to the run.
"""

from __future__ import annotations

import json
from typing import Any

import mlflow
import mlflow.sklearn
import pandas as pd
from mlops_platform.api import choose_serving_path, global_importance, log_serving_path
from mlops_platform.api import contract as ml_contract
from sklearn.dummy import DummyClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data import load_prepared, split_features
from {{ cookiecutter.package_name }}.errors import DataContractError, ModelQualityError
{%- if cookiecutter.feature_store == 'feast' %}
from {{ cookiecutter.package_name }}.feature_store import SKEW_ARTIFACT, skew_check
{%- endif %}
from {{ cookiecutter.package_name }}.features import feature_columns
from {{ cookiecutter.package_name }}.model_card import render_model_card
from {{ cookiecutter.package_name }}.params import Slices, load_params
from {{ cookiecutter.package_name }}.platform import connect, tracking_server_guard
from {{ cookiecutter.package_name }}.records import METRICS_FILE, MODEL_CARD_FILE, RUN_FILE
from {{ cookiecutter.package_name }}.steps import run_step

# Run metrics the governance checker reads back from the tracking server.
BASELINE_PREFIX = "baseline_"
SLICE_PREFIX = "slice_"


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


def baseline_metrics(train: pd.DataFrame, features: pd.DataFrame, target: pd.Series,
                     target_column: str, seed: int) -> dict[str, float]:
    """The test metrics of a trivial model that guesses with the training split's class
    frequencies. Not "always the most frequent class": that one has a perfect recall."""
    baseline = DummyClassifier(strategy="stratified", random_state=seed)
    return compute_metrics(baseline.fit(*split_features(train, target_column)), features, target)


def beats_baseline(metrics: dict[str, float], baseline: dict[str, float], metric: str,
                   higher_is_better: bool) -> bool:
    return metrics[metric] > baseline[metric] if higher_is_better else (
        metrics[metric] < baseline[metric])


def slice_column(contract: dict[str, Any], slices: Slices) -> str:
    numeric, _ = feature_columns(contract)
    if slices.column is None:
        return numeric[0]
    if slices.column not in numeric:
        raise DataContractError(f"slices.column = {slices.column!r} in params.yaml is not a "
                                f"numeric feature of the data contract: use one of {numeric}")
    return slices.column


def slice_metrics(model: Pipeline, features: pd.DataFrame, target: pd.Series, column: str,
                  bins: int) -> list[dict[str, Any]]:
    """Accuracy on each quantile bin of `column` (accuracy: defined even on one class)."""
    edges = pd.qcut(features[column], q=bins, duplicates="drop")
    predicted = pd.Series(model.predict(features), index=features.index)
    return [{"slice": f"{column} in {interval}", "rows": int(mask.sum()),
             "accuracy": float(accuracy_score(target[mask], predicted[mask]))}
            for interval, mask in ((interval, edges == interval)
                                   for interval in edges.cat.categories) if mask.any()]


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
    train, test = load_prepared()
    features, target = split_features(test, contract["target"])
    metric = params.promotion.primary_metric
    with tracking_server_guard(outputs):
        model = mlflow.sklearn.load_model(run["model_uri"])
        serving = choose_serving_path(model, features)
        metrics = compute_metrics(model, features, target)
        baseline = baseline_metrics(train, features, target, contract["target"],
                                    params.data.seed)
        if not beats_baseline(metrics, baseline, metric, params.promotion.higher_is_better):
            raise ModelQualityError(
                f"the model's {metric} {metrics[metric]:.4f} does not beat the trivial "
                f"baseline's {baseline[metric]:.4f} (guesses by class frequency): "
                "nothing registers it")
        slices = slice_metrics(model, features, target, slice_column(contract, params.slices),
                               params.slices.bins)
        importance = feature_importance(model, features, target, metric,
                                        params.explain.n_repeats)
        contributions = global_importance(model, features)
        tags = mlflow.get_run(run["run_id"]).data.tags
{%- if cookiecutter.feature_store == 'feast' %}
        skew = skew_check()  # the online store's values against the offline store's
{%- endif %}
        card = render_model_card(params, run, tags, metrics, importance, contributions,
                                 rows_test=len(test), serving=serving.describe()
{%- if cookiecutter.feature_store == 'feast' %}, skew=skew{% endif %})
        with mlflow.start_run(run_id=run["run_id"]):
            mlflow.log_metrics(metrics, model_id=run["model_id"])
            mlflow.log_metrics({f"{BASELINE_PREFIX}{name}": value
                                for name, value in baseline.items()})
            mlflow.log_metrics({f"{SLICE_PREFIX}{index}_accuracy": item["accuracy"]
                                for index, item in enumerate(slices)})
            mlflow.log_dict({"slices": slices}, "slices.json")
            mlflow.log_text(card, ml_contract.MODEL_CARD_ARTIFACT)
            log_serving_path(serving)
            mlflow.log_dict({"permutation_importance": importance,
                             "mean_abs_contribution": contributions},
                            ml_contract.EXPLAINABILITY_ARTIFACT)
{%- if cookiecutter.feature_store == 'feast' %}
            mlflow.log_dict(skew, SKEW_ARTIFACT)
            mlflow.log_metric(ml_contract.METRIC_FEATURE_SKEW, skew["share"])
{%- endif %}
    METRICS_FILE.parent.mkdir(parents=True, exist_ok=True)
    METRICS_FILE.write_text(json.dumps(metrics, indent=2) + "\n")
    MODEL_CARD_FILE.write_text(card)
    per_slice = ", ".join(f"{item['accuracy']:.3f}" for item in slices)
    print(f"{metric} = {metrics[metric]:.4f} on {len(test)} test rows (trivial baseline "
          f"{baseline[metric]:.4f}); accuracy per slice of {len(slices)}: {per_slice}")


def main() -> int:
    return run_step("evaluate", evaluate)


if __name__ == "__main__":
    raise SystemExit(main())
