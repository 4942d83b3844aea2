"""The promotion gate against a real local MLflow server: who becomes champion, and the record."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_platform import contract as ml_contract
from mlops_platform.governance import audit_log
from mlops_platform.governance.cli import main as cli
from mlops_platform.governance.promotion_gate import PROMOTED, REFUSED, UNCHANGED, promote_project
from tests.governance.model_versions import (
    lineage,
    register_version,
    write_project,
)


def champion(client: MlflowClient, name: str) -> str | None:
    aliases = client.get_registered_model(name).aliases
    return aliases.get(ml_contract.ALIAS_CHAMPION)


def audit(project: Path) -> list[dict]:
    return audit_log.read(project / ml_contract.AUDIT_LOG_FILE)


def assert_recorded(client: MlflowClient, project: Path, name: str, version: str,
                    outcome: str) -> dict:
    """The decision is on the version's tags and is the last line of the audit log."""
    tags = client.get_model_version(name, version).tags
    assert tags[ml_contract.TAG_PROMOTION_OUTCOME] == outcome
    assert tags[ml_contract.TAG_PROMOTION_DECIDED_BY] == "release-bot"
    assert tags[ml_contract.TAG_PROMOTION_DECIDED_AT]
    last = audit(project)[-1]
    assert (last["action"], last["outcome"], last["model_name"], last["version"],
            last["actor"]) == ("promotion", outcome, name, version, "release-bot")
    assert last["at"] == tags[ml_contract.TAG_PROMOTION_DECIDED_AT]
    return last


def test_a_better_model_is_promoted(shared_platform, client, model_name, tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    first = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    assert promote_project(project, actor="release-bot").outcome == PROMOTED
    better = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.97)

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == PROMOTED
    assert (decision.champion_before, decision.champion_after) == (first, better)
    assert champion(client, model_name) == better
    record = assert_recorded(client, project, model_name, better, PROMOTED)
    assert record["details"]["previous_champion"] == first
    assert [(line["version"], line["outcome"]) for line in audit(project)] == [
        (first, "pending"), (first, PROMOTED), (better, "pending"), (better, PROMOTED)]


def test_a_worse_model_is_refused_and_the_champion_stays(shared_platform, client, model_name,
                                                         tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name, tolerance=0.01)
    first = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.96)
    promote_project(project, actor="release-bot")
    worse = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.93)

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert not decision.awaiting_approval  # a refusal on the merits is final
    assert champion(client, model_name) == first
    record = assert_recorded(client, project, model_name, worse, REFUSED)
    assert record["reasons"] == ["roc_auc 0.9300 is worse than champion version "
                                 f"{first} (0.9600, tolerance 0.01)"]


def test_a_model_within_tolerance_of_the_champion_is_promoted(shared_platform, client,
                                                              model_name, tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name, tolerance=0.02)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.96)
    promote_project(project, actor="release-bot")
    close = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)

    assert promote_project(project, actor="release-bot").outcome == PROMOTED
    assert champion(client, model_name) == close


def test_a_model_without_lineage_tags_is_refused(shared_platform, client, model_name,
                                                 tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    first = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    promote_project(project, actor="release-bot")
    untraced = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.99, tags={})

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert champion(client, model_name) == first
    record = assert_recorded(client, project, model_name, untraced, REFUSED)
    assert any(reason.startswith("lineage tags missing: " + ", ".join(ml_contract.LINEAGE_TAGS))
               for reason in record["reasons"]), record["reasons"]


@pytest.mark.parametrize(("tags", "model_card", "roc_auc", "reason_start"), [
    pytest.param(lineage(validation="failed"), True, 0.95, "data validation is failed",
                 id="data-failed-validation"),
    pytest.param(None, False, 0.95, "no model_card.md in run", id="no-model-card"),
    pytest.param(None, True, 0.85, "roc_auc 0.8500 misses the threshold 0.9",
                 id="below-threshold"),
])
def test_a_first_model_without_its_evidence_never_becomes_champion(
        shared_platform, client, model_name, tmp_path, tags, model_card, roc_auc,
        reason_start) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    version = register_version(shared_platform.tracking_uri, model_name, roc_auc=roc_auc,
                               tags=tags, model_card=model_card)

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert champion(client, model_name) is None
    record = assert_recorded(client, project, model_name, version, REFUSED)
    assert [reason for reason in record["reasons"] if reason.startswith(reason_start)]


def test_level_two_needs_a_recorded_approval(shared_platform, client, model_name,
                                             tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name, level=2)
    version = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)

    refused = promote_project(project, actor="release-bot")
    assert refused.outcome == REFUSED
    assert refused.awaiting_approval
    assert champion(client, model_name) is None
    record = assert_recorded(client, project, model_name, version, REFUSED)
    assert record["reasons"][0].startswith("no approval recorded (level 2 requires one)")

    assert cli(["approve", "--project", str(project), "--by", "alice"]) == 0
    approved = client.get_model_version(model_name, version).tags
    assert approved[ml_contract.TAG_APPROVED_BY] == "alice"
    assert audit(project)[-1]["action"] == "approval"
    assert audit(project)[-1]["actor"] == "alice"

    record_file = project / "reports" / "promotion.json"
    assert cli(["promote", "--project", str(project), "--by", "release-bot",
                "--record", str(record_file)]) == 0
    assert champion(client, model_name) == version
    last = assert_recorded(client, project, model_name, version, PROMOTED)
    written = json.loads(record_file.read_text())
    assert (written["outcome"], written["version"], written["at"]) == (
        PROMOTED, version, last["at"])


def test_level_two_needs_the_models_explanations_and_level_one_does_not(
        shared_platform, client, model_name, tmp_path) -> None:
    level_one = write_project(tmp_path / "one", shared_platform, f"{model_name}-1", level=1)
    register_version(shared_platform.tracking_uri, f"{model_name}-1", roc_auc=0.95,
                     explanations=False)
    assert promote_project(level_one, actor="release-bot").outcome == PROMOTED

    project = write_project(tmp_path / "two", shared_platform, model_name, level=2)
    version = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95,
                               explanations=False)
    assert cli(["approve", "--project", str(project), "--by", "alice"]) == 0

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert champion(client, model_name) is None
    [reason] = assert_recorded(client, project, model_name, version, REFUSED)["reasons"]
    assert reason.startswith(f"no {ml_contract.EXPLAINABILITY_ARTIFACT} in run ")
    assert reason.endswith("(level 2 requires the model's explanations): run the evaluate stage")


def test_the_prod_platform_needs_an_approval_at_any_level(shared_platform, client, model_name,
                                                          tmp_path) -> None:
    project = write_project(tmp_path, dataclasses.replace(shared_platform, environment="prod"),
                            model_name, level=0)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert "environment prod requires one" in decision.record.reasons[0]


def test_promoting_the_champion_again_changes_nothing(shared_platform, client, model_name,
                                                      tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    version = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    promote_project(project, actor="release-bot")

    decision = promote_project(project, version=version, actor="release-bot")

    assert decision.outcome == UNCHANGED
    assert champion(client, model_name) == version
    assert_recorded(client, project, model_name, version, UNCHANGED)


def test_the_cli_prints_the_reasons_and_strict_exits_non_zero(shared_platform, model_name,
                                                              tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.5)

    result = subprocess.run(
        [str(Path(sys.executable).parent / "mlops-policy"), "promote", "--project", str(project),
         "--by", "release-bot", "--strict"], capture_output=True, text=True, timeout=120)

    assert result.returncode == 1, result.stderr
    assert "REFUSED" in result.stdout
    assert "roc_auc 0.5000 misses the threshold 0.9" in result.stdout
    assert f"{ml_contract.AUDIT_LOG_FILE}: commit it with the project" in result.stdout
    assert json.loads((project / ml_contract.AUDIT_LOG_FILE).read_text())["outcome"] == REFUSED


def test_no_challenger_is_a_clear_error_and_records_nothing(shared_platform, model_name,
                                                            tmp_path, capsys) -> None:
    project = write_project(tmp_path, shared_platform, model_name)

    assert cli(["promote", "--project", str(project)]) == 2

    error = capsys.readouterr().err
    assert f"registered model {model_name!r} has no version aliased 'challenger'" in error
    assert "make pipeline" in error
    assert not (project / ml_contract.AUDIT_LOG_FILE).exists()


def test_an_unreachable_tracking_server_is_named(shared_platform, model_name, tmp_path,
                                                 capsys) -> None:
    gone = dataclasses.replace(shared_platform, tracking_uri="http://127.0.0.1:9",
                               registry_uri="http://127.0.0.1:9")
    project = write_project(tmp_path, gone, model_name)

    assert cli(["promote", "--project", str(project)]) == 2

    error = capsys.readouterr().err
    assert ("no local platform answers at http://127.0.0.1:9: start it with `make platform-up` "
            "in the platform repository") in error


def test_approve_by_model_name_uses_the_tracking_uri_and_refuses_an_empty_name(
        shared_platform, client, model_name, tmp_path, monkeypatch, capsys) -> None:
    version = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", shared_platform.tracking_uri)
    log = tmp_path / "audit.jsonl"

    assert cli(["approve", "--model-name", model_name, "--by", " ", "--audit-log",
                str(log)]) == 2
    assert "--by is empty" in capsys.readouterr().err
    assert ml_contract.TAG_APPROVED_BY not in client.get_model_version(model_name, version).tags

    assert cli(["approve", "--model-name", model_name, "--version", version, "--by", "bob",
                "--audit-log", str(log)]) == 0
    assert client.get_model_version(model_name, version).tags[
        ml_contract.TAG_APPROVED_BY] == "bob"
    assert [(r["action"], r["version"], r["actor"]) for r in audit_log.read(log)] == [
        ("approval", version, "bob")]
