"""Unit tests of the feature pipeline and the data split."""

from __future__ import annotations

import pandas as pd

from {{ cookiecutter.package_name }}.features import build_model, feature_columns
from {{ cookiecutter.package_name }}.params import Params


def test_every_feature_is_numeric_or_categorical(contract: dict) -> None:
    numeric, categorical = feature_columns(contract)
    assert contract["target"] not in numeric + categorical
    assert len(numeric) + len(categorical) == len(contract["columns"]) - 1


def test_the_model_predicts_one_label_per_row(train_test, contract: dict, params: Params) -> None:
    train, test = train_test
    target = contract["target"]
    model = build_model(contract, params.train).fit(train.drop(columns=[target]), train[target])
    predicted = model.predict(test.drop(columns=[target]))
    assert len(predicted) == len(test)
    assert set(predicted) <= set(train[target])


def test_the_split_keeps_every_row_once(dataset: pd.DataFrame, train_test,
                                        params: Params) -> None:
    train, test = train_test
    assert len(train) + len(test) == len(dataset)
    assert not set(train.index) & set(test.index)
    assert abs(len(test) / len(dataset) - params.data.test_size) < 0.01
