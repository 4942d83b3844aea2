"""The hash-chained audit log: every edit, deletion, reordering or foreign line is found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_platform import contract as ml_contract
from mlops_platform.governance import audit_log
from mlops_platform.governance.cli import main as cli
from mlops_platform.governance.promotion_gate import PROMOTED, promote_project
from tests.governance.model_versions import fresh_model_name, register_version, write_project


def record(number: int) -> audit_log.AuditRecord:
    return audit_log.AuditRecord(action="approval", outcome="approved", model_name="m",
                                 version=str(number), actor=f"person{number}", at="2026-01-01")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    for number in range(1, 5):
        audit_log.append(path, record(number))
    return path


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def rewrite(path: Path, new_lines: list[str]) -> None:
    path.write_text("\n".join(new_lines) + "\n")


def test_an_intact_log_verifies_and_chains_each_record_to_the_one_before(log) -> None:
    verification = audit_log.verify(log)

    assert verification.ok
    assert [entry["seq"] for entry in verification.entries] == [1, 2, 3, 4]
    assert verification.entries[0]["prev"] == audit_log.GENESIS
    assert verification.entries[2]["prev"] == verification.entries[1]["hash"]


def renamed_actor(path: Path) -> None:
    edited = lines(path)
    entry = json.loads(edited[1])
    edited[1] = json.dumps({**entry, "actor": "mallory"}, sort_keys=True)
    rewrite(path, edited)


def rehashed_edit(path: Path) -> None:
    """The actor renamed and the line's own hash recomputed: the next line still notices."""
    edited = lines(path)
    entry = {**json.loads(edited[1]), "actor": "mallory"}
    entry["hash"] = audit_log.record_hash(entry)
    edited[1] = json.dumps(entry, sort_keys=True)
    rewrite(path, edited)


@pytest.mark.parametrize(("tamper", "expected"), [
    (renamed_actor, ["line 2: record 2 was edited (its hash does not match)"]),
    (rehashed_edit, ["line 3: does not follow the record before it (prev hash differs): a "
                     "record before it was deleted, replaced or reordered"]),
    (lambda path: rewrite(path, [lines(path)[0], *lines(path)[2:]]),
     ["line 2: holds record 3 where record 2 belongs: records were deleted, inserted or "
      "reordered"]),
    (lambda path: rewrite(path, [lines(path)[0], lines(path)[2], lines(path)[1],
                                 lines(path)[3]]),
     ["line 2: holds record 3 where record 2 belongs: records were deleted, inserted or "
      "reordered", "line 3: holds record 2 where record 4 belongs: records were deleted, "
      "inserted or reordered", "line 4: holds record 4 where record 3 belongs: records were "
      "deleted, inserted or reordered"]),
    (lambda path: path.write_text(path.read_text() + "approved by everyone\n"),
     ["line 5: not a JSON record (garbage or a broken edit)"]),
    (lambda path: path.write_text(path.read_text() + '{"actor": "mallory"}\n'),
     ["line 5: not an audit record (it lacks seq, prev, hash)"]),
], ids=["renamed-actor", "edit-with-rehash", "deleted-line", "reordered", "garbage",
        "foreign-record"])
def test_every_tampering_is_reported_with_its_line(log, tamper, expected) -> None:
    tamper(log)

    assert audit_log.verify(log).problems == expected


def test_the_gate_will_not_extend_a_broken_log(log) -> None:
    renamed_actor(log)
    before = log.read_text()

    with pytest.raises(audit_log.AuditLogError, match="line 2: record 2 was edited"):
        audit_log.append(log, record(5))
    assert log.read_text() == before


def test_audit_verify_exits_one_with_the_line_and_zero_with_the_count(
        log, tmp_path, capsys) -> None:
    (tmp_path / "params.yaml").write_text(
        "project: {maturity_level: 0}\nmodel: {name: m}\npromotion: {primary_metric: roc_auc, "
        "threshold: 0.9, tolerance: 0.0, higher_is_better: true}\n")
    command = ["audit", "verify", "--project", str(tmp_path), "--audit-log", str(log),
               "--offline"]

    assert cli(command) == 0
    assert "4 records, chain intact" in capsys.readouterr().out
    log.write_text(log.read_text() + "garbage\n")
    assert cli(command) == 1
    assert "line 5: not a JSON record" in capsys.readouterr().out


def test_the_registry_head_reveals_deleted_and_appended_last_lines(shared_platform,
                                                                   tmp_path, capsys) -> None:
    model_name = fresh_model_name()
    project = write_project(tmp_path, shared_platform, model_name)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    assert promote_project(project, actor="release-bot").outcome == PROMOTED
    log = project / ml_contract.AUDIT_LOG_FILE
    head = MlflowClient(shared_platform.tracking_uri).get_registered_model(model_name).tags[
        audit_log.TAG_AUDIT_HEAD]
    assert head == audit_log.reference(audit_log.read(log)[-1])
    assert cli(["audit", "verify", "--project", str(project)]) == 0
    assert "head matches the registry" in capsys.readouterr().out
    intact = log.read_text()

    rewrite(log, lines(log)[:-1])  # the promotion's last record deleted: the chain still holds
    assert audit_log.verify(log).ok
    assert cli(["audit", "verify", "--project", str(project)]) == 1
    assert "is not in the log: its last records were deleted" in capsys.readouterr().out

    log.write_text(intact)
    audit_log.append(log, record(9))  # a well-formed record, written outside the gate
    assert cli(["audit", "verify", "--project", str(project)]) == 1
    assert "line 3: record 3 was appended outside the gate" in capsys.readouterr().out
