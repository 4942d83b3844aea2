"""Model-quality tests: a model trained the pipeline's way clears the promotion threshold."""

from __future__ import annotations

from {{ cookiecutter.package_name }}.data import split_features
from {{ cookiecutter.package_name }}.evaluate import compute_metrics, feature_importance
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.train import fit


def test_the_primary_metric_reaches_the_threshold(train_test, contract: dict,
                                                   params: Params) -> None:
    train, test = train_test
    model = fit(train, contract, params.train)
    metrics = compute_metrics(model, *split_features(test, contract["target"]))
    metric = params.promotion.primary_metric
    assert metrics[metric] >= params.promotion.threshold, metrics


def test_permutation_importance_ranks_every_feature(train_test, contract: dict,
                                                     params: Params) -> None:
    train, test = train_test
    model = fit(train, contract, params.train)
    features, target = split_features(test, contract["target"])
    ranked = feature_importance(model, features, target, "accuracy", n_repeats=2)
    assert {item["feature"] for item in ranked} == set(features.columns)
    assert ranked[0]["mean"] >= ranked[-1]["mean"]
