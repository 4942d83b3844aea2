"""A project's Feast feature store (the template's ``feature_store=feast`` option).

The project's prepared rows become Feast's offline source, one row per entity key and event
time; training reads its frame back with point-in-time-correct historical retrieval (a
feature value stamped after a row's event time is never joined to it); the values are
materialised to the online store, which ``feast serve`` answers by key for the model server
(``online_features``); and the skew check compares online and offline values of sampled keys.

In a project: ``feature_repo/`` holds ``feature_store.yaml`` and the definitions (entity,
feature view, feature service); ``data/features/`` the offline source and the entity frames of
the splits; ``data/feast/`` the registry and the local online store (SQLite). Feast is imported
only here, lazily: the platform package itself does not depend on it.
"""

from __future__ import annotations

import contextlib
import math
import runpy
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_platform.processes import (
    LOOPBACK,
    free_port,
    start_process_group,
    stop_process_group,
    terminate_as_interrupt,
    wait_until_healthy,
)

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureStore

ENTITY_KEY = "row_id"
EVENT_TIMESTAMP = "event_timestamp"
FEATURE_SERVICE = "model_features"
FEATURE_VIEW = "features"
REPO_DIR = Path("feature_repo")
DEFINITIONS_FILE = "definitions.py"
FEATURES_DIR = Path("data/features")
SOURCE_FILE = FEATURES_DIR / "features.parquet"
# A data set without event times: every row counts as observed at this instant.
OBSERVED_AT = datetime(2024, 1, 1, tzinfo=UTC)
MATERIALISED_FROM = datetime(1970, 1, 2, tzinfo=UTC)
SKEW_FILE = Path("reports/feature_skew.json")
SKEW_ARTIFACT = "feature_skew.json"
_ORDER = "__entity_row__"
# The contract's dtypes as Feast's (feast.types names).
FEAST_TYPES = {"float": "Float64", "int": "Int64", "str": "String", "bool": "Bool"}


class FeatureStoreError(RuntimeError):
    """The feature store cannot do what was asked; the message names the fix."""


def entities_file(split: str) -> Path:
    return FEATURES_DIR / f"{split}_entities.parquet"


def feature_fields(contract: Mapping[str, Any]) -> list[Any]:
    """The feature view's schema: every contract column but the target, as Feast fields."""
    from feast import Field, types

    return [Field(name=column["name"], dtype=getattr(types, FEAST_TYPES[column["dtype"]]))
            for column in contract["columns"] if column["name"] != contract["target"]]


def keyed_splits(splits: Mapping[str, pd.DataFrame], target: str
                 ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Key every row (``row_id``, in order across the splits) at ``OBSERVED_AT``: the offline
    source (key, event time, features) and each split's entity frame (key, event time,
    target), from which training reads its rows back."""
    import pandas as pd

    source, entities, start = [], {}, 0
    for name, frame in splits.items():
        keyed = frame.reset_index(drop=True).assign(**{
            ENTITY_KEY: range(start, start + len(frame)), EVENT_TIMESTAMP: OBSERVED_AT})
        start += len(frame)
        source.append(keyed.drop(columns=[target]))
        entities[name] = keyed[[ENTITY_KEY, EVENT_TIMESTAMP, target]]
    return pd.concat(source, ignore_index=True), entities


def write_offline_data(splits: Mapping[str, pd.DataFrame], target: str,
                       project: Path = Path()) -> int:
    """The offline source and the entity frames under ``data/features/``; the rows written."""
    source, entities = keyed_splits(splits, target)
    (project / FEATURES_DIR).mkdir(parents=True, exist_ok=True)
    source.to_parquet(project / SOURCE_FILE, index=False)
    for name, frame in entities.items():
        frame.to_parquet(project / entities_file(name), index=False)
    return len(source)


def open_store(project: Path = Path()) -> FeatureStore:
    from feast import FeatureStore

    repo = project / REPO_DIR
    if not (repo / "feature_store.yaml").is_file():
        raise FeatureStoreError(f"{repo}/feature_store.yaml is missing: this project was not "
                                "baked with feature_store=feast, or the file was removed")
    return FeatureStore(repo_path=str(repo.resolve()))


def apply_definitions(store: FeatureStore) -> list[str]:
    """``feast apply`` in process: register the entities, views and services the repository's
    definitions file declares; their names."""
    from feast import Entity, FeatureService, FeatureView

    declared = runpy.run_path(str(Path(store.repo_path) / DEFINITIONS_FILE))
    objects = [value for value in declared.values()
               if isinstance(value, Entity | FeatureView | FeatureService)]
    store.apply(objects)
    return sorted(item.name for item in objects)


def materialise(store: FeatureStore, until: datetime | None = None) -> None:
    """Load the offline values into the online store: each key's latest value up to ``until``."""
    with _quiet_progress():
        store.materialize(start_date=MATERIALISED_FROM, end_date=until or datetime.now(UTC))


def historical_frame(store: FeatureStore, entities: pd.DataFrame) -> pd.DataFrame:
    """Each entity row with the features as they were at its event time (point in time: a
    value stamped after it is never used), in the entity frame's order, its columns kept."""
    ordered = entities.assign(**{_ORDER: range(len(entities))})
    joined = store.get_historical_features(
        entity_df=ordered, features=store.get_feature_service(FEATURE_SERVICE)).to_df()
    return joined.sort_values(_ORDER).drop(columns=[_ORDER]).reset_index(drop=True)


def training_rows(store: FeatureStore, entities: pd.DataFrame, columns: list[str]
                  ) -> pd.DataFrame:
    """The rows a model trains on, as ``columns`` (the contract's), read back from the store."""
    frame = historical_frame(store, entities)
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise FeatureStoreError(f"the feature service {FEATURE_SERVICE!r} lacks {missing}: "
                                "declare them in feature_repo/definitions.py (make pipeline)")
    return frame[columns]


def online_frame(store: FeatureStore, keys: list[Any]) -> pd.DataFrame:
    return store.get_online_features(
        features=store.get_feature_service(FEATURE_SERVICE),
        entity_rows=[{ENTITY_KEY: key} for key in keys]).to_df()


def skew_report(store: FeatureStore, keys: list[Any], at: datetime | None = None
                ) -> dict[str, Any]:
    """Training/serving skew: for each key, the online store's values against the offline
    store's latest ones (as of ``at``), feature by feature. A value differs when one side is
    missing or they are not equal to 1e-9 relative."""
    import pandas as pd

    at = at or datetime.now(UTC)
    offline = historical_frame(store, pd.DataFrame({ENTITY_KEY: keys, EVENT_TIMESTAMP: at}))
    online = online_frame(store, keys).set_index(ENTITY_KEY).loc[keys].reset_index()
    features = [name for name in offline.columns if name not in (ENTITY_KEY, EVENT_TIMESTAMP)]
    differing = {name: sum(not _same(a, b) for a, b in zip(
        offline[name], online[name], strict=True)) for name in features}
    compared = len(keys) * len(features)
    mismatched = sum(differing.values())
    return {"keys": len(keys), "values": compared, "mismatched": mismatched,
            "share": mismatched / compared if compared else 0.0,
            "features_differing": {name: n for name, n in differing.items() if n}}


def _same(offline: Any, online: Any) -> bool:
    missing = [_is_missing(offline), _is_missing(online)]
    if any(missing):
        return all(missing)
    if isinstance(offline, int | float) and isinstance(online, int | float):
        return math.isclose(offline, online, rel_tol=1e-9, abs_tol=1e-12)
    return offline == online


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@contextlib.contextmanager
def feature_server(project: Path = Path(), log_path: Path | None = None,
                   port: int = 0) -> Iterator[str]:
    """Feast's own feature server (``feast serve``) over the project's online store on
    127.0.0.1, in a process group of its own; its URL. Always stopped."""
    repo = (project / REPO_DIR).resolve()
    log_path = log_path or project.resolve() / "monitoring" / "feature-server.log"
    with terminate_as_interrupt():  # stopped while it starts, it still stops feast serve
        yield from _feature_server(repo, log_path, port or free_port())


def _feature_server(repo: Path, log_path: Path, port: int) -> Iterator[str]:
    feast = Path(sys.executable).parent / "feast"
    # No __pycache__ in feature_repo/: the pipeline's stage depends on that folder's contents.
    process = start_process_group([str(feast), "serve", "--host", LOOPBACK, "--port", str(port),
                                   "--workers", "1"], log_path, cwd=repo,
                                  env={"PYTHONDONTWRITEBYTECODE": "1"})
    try:
        url = f"http://{LOOPBACK}:{port}"
        wait_until_healthy(f"{url}/health", process, log_path, timeout=120)
        yield url
    finally:
        stop_process_group(process.pid)


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    # Feast prints a progress bar per view to stdout; a pipeline's log keeps one line instead.
    with open("/dev/null", "w") as sink, contextlib.redirect_stdout(sink):
        yield
