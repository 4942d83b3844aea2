"""Model-quality tests: a model tuned and trained the pipeline's way clears the promotion
threshold, beats a trivial baseline, keeps its accuracy on every data slice, is numerically
stable, and training it twice gives the same model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.data import split_features
from {{ cookiecutter.package_name }}.evaluate import (
    baseline_metrics,
    beats_baseline,
    compute_metrics,
    feature_importance,
    slice_column,
    slice_metrics,
)
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.train import fit, numerical_problems
from {{ cookiecutter.package_name }}.tune import search


@pytest.fixture(scope="module")
def tuning(train_test, contract: dict, params: Params) -> dict:
    return search(train_test[0], contract, params)


@pytest.fixture(scope="module")
def model(train_test, contract: dict, params: Params, tuning: dict) -> Pipeline:
    return fit(train_test[0], contract, params.train, tuning["best"])


def test_the_search_scores_every_candidate_of_the_grid(tuning: dict, params: Params) -> None:
    grid = params.tune.grid
    expected = [dict(zip(grid, values, strict=True))
                for values in itertools.product(*grid.values())]
    assert sorted(map(str, (c["hyperparameters"] for c in tuning["candidates"]))) == sorted(
        map(str, expected))
    best = max(tuning["candidates"], key=lambda candidate: candidate["mean"])
    assert tuning["best"] == best["hyperparameters"]
    assert tuning["best_score"] == best["mean"]


def test_the_primary_metric_reaches_the_threshold(model: Pipeline, train_test, contract: dict,
                                                   params: Params) -> None:
    metrics = compute_metrics(model, *split_features(train_test[1], contract["target"]))
    metric = params.promotion.primary_metric
    assert metrics[metric] >= params.promotion.threshold, metrics


def test_the_model_beats_a_trivial_baseline(model: Pipeline, train_test, contract: dict,
                                            params: Params) -> None:
    train, test = train_test
    features, target = split_features(test, contract["target"])
    metrics = compute_metrics(model, features, target)
    baseline = baseline_metrics(train, features, target, contract["target"], params.data.seed)
    metric, higher = params.promotion.primary_metric, params.promotion.higher_is_better

    assert beats_baseline(metrics, baseline, metric, higher), (metrics, baseline)
    assert not beats_baseline(baseline, baseline, metric, higher)  # a tie does not beat it
    assert baseline["roc_auc"] < 0.6  # guessing ranks no better than chance


def test_every_data_slice_keeps_its_accuracy(model: Pipeline, train_test, contract: dict,
                                             params: Params) -> None:
    features, target = split_features(train_test[1], contract["target"])
    column = slice_column(contract, params.slices)
    slices = slice_metrics(model, features, target, column, params.slices.bins)

    assert sum(item["rows"] for item in slices) == len(features)
    assert len(slices) >= 2
    assert all(item["accuracy"] >= params.slices.min_accuracy for item in slices), slices


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # max_iter=1
def test_the_trained_model_is_numerically_stable(model: Pipeline, train_test, contract: dict,
                                                 params: Params) -> None:
    features, _ = split_features(train_test[0], contract["target"])
    assert numerical_problems(model, features) == []
    hurried = fit(train_test[0], contract, params.train.model_copy(update={"max_iter": 1}))
    assert numerical_problems(hurried, features)[0].startswith("the solver did not converge")


def test_training_twice_gives_identical_predictions(model: Pipeline, train_test, contract: dict,
                                                    params: Params, tuning: dict) -> None:
    again = fit(train_test[0], contract, params.train, search(train_test[0], contract,
                                                               params)["best"])
    features, _ = split_features(train_test[1], contract["target"])
    assert np.array_equal(model.predict_proba(features), again.predict_proba(features))


def test_permutation_importance_ranks_every_feature(model: Pipeline, train_test,
                                                     contract: dict) -> None:
    features, target = split_features(train_test[1], contract["target"])
    ranked = feature_importance(model, features, target, "accuracy", n_repeats=2)
    assert {item["feature"] for item in ranked} == set(features.columns)
    assert ranked[0]["mean"] >= ranked[-1]["mean"]
