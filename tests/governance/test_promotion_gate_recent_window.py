"""The gate scores challenger and champion on the latest window of labelled served rows too,
against a real local MLflow server; what it decides there is in the audit log and the record."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from mlops_platform import contract as ml_contract
from mlops_platform.governance import audit_log
from mlops_platform.governance.cli import main as cli
from mlops_platform.governance.promotion_gate import PROMOTED, REFUSED, promote_project
from tests.governance.model_versions import (
    SCORE_COLUMNS,
    register_version,
    write_project,
)

LABELLED_FILE = "data/labelled/served.csv"
DAY = 86400.0
WIDTH = 60  # the local environment's recent_window, 1m
WINDOW_ROWS = 30  # the platform's recent_min_rows


def window_rows(right: str, wrong: str) -> pd.DataFrame:
    """Half negatives, half positives: the model reading column `right` ranks them all
    right (roc_auc 1), the one reading column `wrong` all wrong (roc_auc 0)."""
    target = [0, 1] * (WINDOW_ROWS // 2)
    frame = pd.DataFrame(0.0, index=range(WINDOW_ROWS), columns=SCORE_COLUMNS)
    frame[right] = [float(label) for label in target]
    frame[wrong] = [1.0 - label for label in target]
    frame["target"] = target
    return frame


def write_labelled(project: Path, *windows: tuple[float, pd.DataFrame]) -> None:
    """data/labelled/served.csv and its lineage as mlops-labelled-data writes them: each
    window's rows served at its time."""
    frame = pd.concat([rows for _, rows in windows], ignore_index=True)
    served_at = [at for at, rows in windows for _ in range(len(rows))]
    path = project / LABELLED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    lineage = {"rows": len(frame), "prediction_ids": [f"p{n}" for n in range(len(frame))],
               "served_at": served_at}
    path.with_name("served.lineage.json").write_text(json.dumps(lineage))


def champion(client: MlflowClient, name: str) -> str | None:
    return client.get_registered_model(name).aliases.get(ml_contract.ALIAS_CHAMPION)


def last_record(project: Path) -> dict:
    return audit_log.read(project / ml_contract.AUDIT_LOG_FILE)[-1]


def test_a_challenger_worse_on_the_recent_window_is_refused_and_the_champion_stays(
        shared_platform, client, model_name, tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    first = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    assert promote_project(project, actor="release-bot").outcome == PROMOTED
    # Better on the test split (0.97 against 0.95) and on an older window, worse on the latest.
    better_on_test = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.97)
    write_labelled(project, (DAY, window_rows(right="s097", wrong="s095")),
                   (3 * DAY, window_rows(right="s095", wrong="s097")))
    record_file = project / "reports" / "promotion.json"

    assert cli(["promote", "--project", str(project), "--by", "release-bot",
                "--record", str(record_file)]) == 0

    assert champion(client, model_name) == first
    record = last_record(project)
    assert (record["outcome"], record["version"]) == (REFUSED, better_on_test)
    assert record["reasons"] == [
        f"roc_auc 0.0000 on the recent labelled window ({WINDOW_ROWS} rows served "
        "1970-01-04T00:00:00Z to 1970-01-04T00:01:00Z) is worse than champion version "
        f"{first} (1.0000, tolerance 0.01): it serves the latest labelled rows worse; keep the "
        "champion, or retrain on more of them (make labelled-data)"]
    assert record["details"]["measured"] == {better_on_test: 0.97, first: 0.95}
    assert record["details"]["recent_window"] == {
        "labelled_file": LABELLED_FILE, "width": "1m", "rows": WINDOW_ROWS,
        "start": 3 * DAY, "end": 3 * DAY + WIDTH, "start_utc": "1970-01-04T00:00:00Z",
        "end_utc": "1970-01-04T00:01:00Z", "measured": {better_on_test: 0.0, first: 1.0}}
    written = json.loads(record_file.read_text())
    assert written["details"]["recent_window"] == record["details"]["recent_window"]


def test_a_challenger_better_on_both_is_promoted_with_both_comparisons_recorded(
        shared_platform, client, model_name, tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    first = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    promote_project(project, actor="release-bot")
    better = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.97)
    write_labelled(project, (DAY, window_rows(right="s097", wrong="s095")))

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == PROMOTED
    assert champion(client, model_name) == better
    [check] = [check for check in decision.checks if check.name == "recent_window"]
    assert check.passed
    assert check.reason.startswith(f"roc_auc 1.0000 on the recent labelled window ({WINDOW_ROWS} "
                                   "rows served 1970-01-02T00:00:00Z to ")
    assert check.reason.endswith(f"at least as good as champion version {first} (0.0000, "
                                 "tolerance 0.01)")
    assert last_record(project)["details"]["recent_window"]["measured"] == {better: 1.0,
                                                                             first: 0.0}


@pytest.mark.parametrize(("windows", "why"), [
    pytest.param((), f"no labelled served rows in {LABELLED_FILE} (make labelled-data makes "
                 "them)",
                 id="no-labelled-data"),
    pytest.param(((DAY, window_rows("s095", "s097").head(WINDOW_ROWS - 1)),),
                 f"no window of {WIDTH} s holds {WINDOW_ROWS} of the {WINDOW_ROWS - 1} labelled "
                 f"rows (the most in one is {WINDOW_ROWS - 1})", id="too-few-rows"),
])
def test_without_a_full_recent_window_the_gate_compares_on_the_test_split_and_says_so(
        shared_platform, client, model_name, tmp_path, windows, why) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    promote_project(project, actor="release-bot")
    better = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.97)
    if windows:
        write_labelled(project, *windows)

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == PROMOTED
    assert champion(client, model_name) == better
    said = f"the test split only: {why}"
    assert f"compared on {said}" in decision.record.reasons
    assert last_record(project)["details"]["recent_window"]["compared_on"] == said


def test_labelled_rows_without_their_times_refuse_with_the_fix(
        shared_platform, client, model_name, tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    write_labelled(project, (DAY, window_rows("s095", "s097")))
    (project / "data/labelled/served.lineage.json").write_text("{}")

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert champion(client, model_name) is None
    [reason] = decision.record.reasons
    assert reason.startswith("the gate cannot score version 1 on the recent labelled window: ")
    assert "rebuild it with mlops-labelled-data (make labelled-data)" in reason
