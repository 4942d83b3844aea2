"""The Feast feature store, with the project's own feature repository on data of the test's
making: training reads rows back point in time, and the skew check sees a stale online store."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from mlops_platform.api import feature_store

from tests.conftest import PROJECT_DIR

T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's feature repository and contract, with data of its own."""
    shutil.copytree(PROJECT_DIR / feature_store.REPO_DIR, tmp_path / feature_store.REPO_DIR)
    shutil.copy(PROJECT_DIR / "data_contract.yaml", tmp_path / "data_contract.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def feature_names(contract: dict) -> list[str]:
    return [c["name"] for c in contract["columns"] if c["name"] != contract["target"]]


def numeric_features(contract: dict) -> list[str]:
    return [c["name"] for c in contract["columns"]
            if c["dtype"] in ("float", "int") and c["name"] != contract["target"]]


def versions_of_row_zero(rows: pd.DataFrame, contract: dict) -> pd.DataFrame:
    """Row 0 observed twice: its values at T0, and every numeric feature + 1000 at T0 + 2 days."""
    first = rows.iloc[[0]].drop(columns=[contract["target"]])
    later = first.copy()
    numeric = numeric_features(contract)
    later[numeric] = later[numeric] + 1000
    source = pd.concat([first.assign(event_timestamp=T0),
                        later.assign(event_timestamp=T0 + 2 * DAY)])
    return source.assign(row_id=0).reset_index(drop=True)


def applied_store(directory: Path, source: pd.DataFrame):
    (directory / feature_store.FEATURES_DIR).mkdir(parents=True)
    source.to_parquet(directory / feature_store.SOURCE_FILE, index=False)
    store = feature_store.open_store(directory)
    feature_store.apply_definitions(store)
    return store


def test_training_reads_each_row_as_it_was_at_its_event_time(
        store_dir: Path, train_test: tuple[pd.DataFrame, pd.DataFrame], contract: dict) -> None:
    train, _ = train_test
    source = versions_of_row_zero(train, contract)
    store = applied_store(store_dir, source)
    entities = pd.DataFrame({"row_id": [0, 0], "event_timestamp": [T0 + DAY, T0 + 3 * DAY],
                             contract["target"]: [1, 1]})
    columns = [c["name"] for c in contract["columns"]]
    rows = feature_store.training_rows(store, entities, columns)
    features = feature_names(contract)
    # The value stamped after day 1 is not joined to the row of day 1; on day 3 it is.
    assert rows.loc[0, features].tolist() == source.loc[0, features].tolist()
    assert rows.loc[1, features].tolist() == source.loc[1, features].tolist()
    assert rows.loc[0, features].tolist() != rows.loc[1, features].tolist()
    assert list(rows.columns) == columns


def test_the_training_frame_is_the_prepared_split(
        store_dir: Path, train_test: tuple[pd.DataFrame, pd.DataFrame], contract: dict) -> None:
    train, test = train_test
    feature_store.write_offline_data({"train": train, "test": test}, contract["target"])
    store = feature_store.open_store()
    feature_store.apply_definitions(store)
    entities = pd.read_parquet(feature_store.entities_file("train"))
    rows = feature_store.training_rows(store, entities, list(train.columns))
    pd.testing.assert_frame_equal(rows, train.reset_index(drop=True), check_dtype=False)


def test_the_skew_check_finds_a_stale_online_store_and_none_once_materialised(
        store_dir: Path, train_test: tuple[pd.DataFrame, pd.DataFrame], contract: dict) -> None:
    train, _ = train_test
    store = applied_store(store_dir, versions_of_row_zero(train, contract))
    feature_store.materialise(store, until=T0 + DAY)  # the online store holds the old values
    stale = feature_store.skew_report(store, [0])
    numeric = numeric_features(contract)
    assert stale["mismatched"] == len(numeric) > 0
    assert set(stale["features_differing"]) == set(numeric)
    feature_store.materialise(store)
    assert feature_store.skew_report(store, [0])["mismatched"] == 0
