"""Rows sent by entity key, completed from a Feast feature server's answer."""

from __future__ import annotations

import pytest

from mlops_platform.online_features import FeatureServerError, MissingFeaturesError, OnlineFeatures
from mlops_platform.serving import (
    ServingError,
    ServingSettings,
    online_features_setting,
    settings_of,
)

FEATURES = OnlineFeatures("http://127.0.0.1:6566", "model_features", "row_id")


def feast_answer(keys: list, radius: list, statuses: list[str]) -> dict:
    """What `feast serve` answers to POST /get-online-features: one result per feature name."""
    return {"metadata": {"feature_names": ["row_id", "mean radius", "texture"]},
            "results": [{"values": keys, "statuses": ["PRESENT"] * len(keys)},
                        {"values": radius, "statuses": statuses},
                        {"values": [0.5] * len(keys), "statuses": statuses}]}


def test_only_rows_that_carry_the_key_alone_are_looked_up() -> None:
    assert FEATURES.keys_only([{"row_id": 3}, {"row_id": 5}]) == [3, 5]
    assert FEATURES.keys_only([{"row_id": 3}, {"row_id": 5, "texture": 0.1}]) is None
    assert FEATURES.keys_only([{"mean radius": 1.0}]) is None
    assert FEATURES.keys_only([]) is None


def test_the_request_asks_the_feature_service_for_the_keys() -> None:
    assert FEATURES.request_body([3, 5]) == {
        "feature_service": "model_features", "entities": {"row_id": [3, 5]},
        "full_feature_names": False}


def test_each_key_becomes_a_row_of_its_features_without_the_key() -> None:
    answer = feast_answer([3, 5], [1.5, 2.5], ["PRESENT", "PRESENT"])
    assert FEATURES.rows_of(answer, [3, 5]) == [{"mean radius": 1.5, "texture": 0.5},
                                                {"mean radius": 2.5, "texture": 0.5}]


def test_a_key_the_online_store_lacks_is_named() -> None:
    answer = feast_answer([3, 99], [1.5, None], ["PRESENT", "NOT_FOUND"])
    with pytest.raises(MissingFeaturesError, match=r"no features for row_id \[99\]"):
        FEATURES.rows_of(answer, [3, 99])


def test_a_null_feature_value_is_the_contract_s_to_judge() -> None:
    answer = feast_answer([3], [None], ["NULL_VALUE"])
    assert FEATURES.rows_of(answer, [3]) == [{"mean radius": None, "texture": 0.5}]


def test_an_answer_not_shaped_like_feast_s_is_a_server_error() -> None:
    with pytest.raises(FeatureServerError, match="not Feast's"):
        FEATURES.rows_of({"detail": "Not Found"}, [3])


def test_the_setting_is_read_as_the_serving_command_writes_it() -> None:
    setting = {"url": "http://127.0.0.1:6566/", "feature_service": "model_features",
               "entity_key": "row_id"}
    assert OnlineFeatures.from_setting(setting) == FEATURES


def test_serving_with_a_feature_server_needs_its_service_and_key() -> None:
    with pytest.raises(ServingError, match="--feature-service and --entity-key"):
        ServingSettings(model_uri="models:/m/1", feature_server="http://127.0.0.1:6566")
    settings = settings_of(["--model-uri", "models:/m/1", "--feature-server", FEATURES.url,
                            "--feature-service", "model_features", "--entity-key", "row_id"])
    assert OnlineFeatures.from_setting(online_features_setting(settings)) == FEATURES
