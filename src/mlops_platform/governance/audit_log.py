"""The audit trail of governance decisions: a hash-chained JSON-lines log plus registry tags.

The log, ``<project>/governance/audit.jsonl``, is committed with the project. It is
append-only and verifiable: every line holds its number (`seq`), the hash of the line
before it (`prev`) and its own hash (`hash`, sha256 of the line's other fields), so an
edited, deleted, reordered or foreign line breaks the chain at a line number. The
registry keeps the chain's head (`seq:hash`) as a tag of the registered model, which
catches what the file alone cannot: its last lines deleted or rewritten. The tags on a
version (what the serving policy and a reviewer see) name the record they come from.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_platform import contract as ml_contract

if TYPE_CHECKING:
    from mlflow import MlflowClient

# Who acted, in the order CI systems and shells name them.
ACTOR_VARIABLES = ("MLOPS_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER")
MAX_TAG_VALUE = 5000  # MLflow's limit for a tag value
GENESIS = "0" * 64  # the `prev` of the first record
# The outcomes a record of the promotion gate may hold.
PROMOTED, REFUSED, UNCHANGED = "promoted", "refused", "unchanged"
PENDING, ABORTED, RESET = "pending", "aborted", "reset"
CHAIN_FIELDS = ("seq", "prev", "hash")
TAG_AUDIT_HEAD = ml_contract.TAG_AUDIT_HEAD  # on the registered model: `seq:hash` of the last
TAG_AUDIT_RECORD = ml_contract.TAG_AUDIT_RECORD  # on a version: `seq:hash` of its last decision


class AuditLogError(ValueError):
    """The audit log is broken: the gate will not extend or trust it until it is repaired."""


@dataclass(frozen=True)
class AuditRecord:
    action: str  # "promotion" or "approval"
    outcome: str  # "pending", "promoted", "aborted", "reset", "refused", "unchanged", "approved"
    model_name: str
    version: str | None
    actor: str
    at: str
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Verification:
    entries: list[dict[str, Any]]  # the records that parsed, chain fields included
    problems: list[str]  # one per broken line: "line N: what is wrong"

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def head(self) -> str | None:
        return reference(self.entries[-1]) if self.entries else None


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def current_actor() -> str:
    for variable in ACTOR_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record_hash(entry: dict[str, Any]) -> str:
    body = {key: value for key, value in entry.items() if key != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def reference(entry: dict[str, Any]) -> str:
    """How tags name a record: `seq:hash`."""
    return f"{entry['seq']}:{entry['hash']}"


def check_line(number: int, text: str, seq: int, prev: str) -> tuple[dict[str, Any] | None, str]:
    """The record on line `number` and its problem ('' when it continues the chain)."""
    try:
        entry = json.loads(text)
    except json.JSONDecodeError:
        return None, f"line {number}: not a JSON record (garbage or a broken edit)"
    if not isinstance(entry, dict) or any(key not in entry for key in CHAIN_FIELDS):
        return None, f"line {number}: not an audit record (it lacks {', '.join(CHAIN_FIELDS)})"
    if entry["hash"] != record_hash(entry):
        return entry, f"line {number}: record {entry['seq']} was edited (its hash does not match)"
    if entry["seq"] != seq:
        return entry, (f"line {number}: holds record {entry['seq']} where record {seq} belongs: "
                       "records were deleted, inserted or reordered")
    if entry["prev"] != prev:
        return entry, (f"line {number}: does not follow the record before it (prev hash "
                       "differs): a record before it was deleted, replaced or reordered")
    return entry, ""


def verify(log_file: Path) -> Verification:
    """Every problem of the chain with its line number; the records that parsed."""
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    seq, prev = 1, GENESIS
    lines = log_file.read_text().splitlines() if log_file.is_file() else []
    for number, text in enumerate(lines, start=1):
        entry, problem = check_line(number, text, seq, prev)
        if problem:
            problems.append(problem)
        if entry is not None:
            entries.append(entry)
            # Carry on from this line, so each break is reported once, where it is.
            seq, prev = int(entry["seq"]) + 1, entry["hash"]
    return Verification(entries, problems)


def verify_against_registry(verification: Verification, head: str | None) -> list[str]:
    """Problems the registry's head tag reveals: the end of the log deleted or appended to."""
    if head is None:
        return ([f"the registry holds no {TAG_AUDIT_HEAD} tag although the log has "
                 f"{len(verification.entries)} records: the tag was deleted"]
                if verification.entries else [])
    seq, _, digest = head.partition(":")
    by_seq = {str(entry["seq"]): index for index, entry in enumerate(verification.entries)}
    if seq not in by_seq:
        return [f"record {seq}, the registry's head ({TAG_AUDIT_HEAD}), is not in the log: its "
                "last records were deleted"]
    index = by_seq[seq]
    if verification.entries[index]["hash"] != digest:
        return [f"line {index + 1}: record {seq} differs from the one the registry recorded"]
    return [f"line {later + 1}: record {verification.entries[later]['seq']} was appended "
            "outside the gate (after the registry's head)"
            for later in range(index + 1, len(verification.entries))]


def trusted_entries(log_file: Path) -> list[dict[str, Any]]:
    """The records of an intact log; AuditLogError naming the first break otherwise."""
    verification = verify(log_file)
    if not verification.ok:
        raise AuditLogError(f"audit log {log_file} is broken ({verification.problems[0]}): "
                            "`mlops-policy audit verify` lists every problem; restore the file "
                            "from git history before the gate runs again")
    return verification.entries


def append(log_file: Path, record: AuditRecord) -> dict[str, Any]:
    """Chain `record` onto the intact log; the entry written (with seq, prev and hash)."""
    entries = trusted_entries(log_file)
    last = entries[-1] if entries else None
    entry: dict[str, Any] = {**asdict(record), "seq": int(last["seq"]) + 1 if last else 1,
                             "prev": last["hash"] if last else GENESIS}
    entry["hash"] = record_hash(entry)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a") as log:
        log.write(json.dumps(entry, sort_keys=True) + "\n")
    return entry


def commit_note(log_file: Path) -> str:
    """What to do with the log after a write: it is the project's record, kept in git."""
    return (f"recorded in {log_file}: commit it with the project, it is the record of the "
            "gate's decisions (`mlops-policy audit verify` checks its chain)")


def read(log_file: Path) -> list[dict[str, Any]]:
    return verify(log_file).entries


def registry_head(client: MlflowClient, model_name: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(model_name).tags.get(TAG_AUDIT_HEAD)
    except MlflowException:
        return None


def record_in_registry(client: MlflowClient, entry: dict[str, Any],
                       tags: dict[str, str] | None = None) -> None:
    """The version's tags (`tags` plus the record's reference), then the chain's new head."""
    from mlops_platform.client.registry import refusals_named

    name, version = entry["model_name"], entry["version"]
    with refusals_named(f"record audit record {entry['seq']} on {name!r}"):
        if version is not None:
            for key, value in {**(tags or {}), TAG_AUDIT_RECORD: reference(entry)}.items():
                client.set_model_version_tag(name, version, key, value)
        client.set_registered_model_tag(name, TAG_AUDIT_HEAD, reference(entry))


def promotion_tags(record: AuditRecord) -> dict[str, str]:
    tags = {
        ml_contract.TAG_PROMOTION_OUTCOME: record.outcome,
        ml_contract.TAG_PROMOTION_DECIDED_BY: record.actor,
        ml_contract.TAG_PROMOTION_DECIDED_AT: record.at,
        ml_contract.TAG_PROMOTION_REASONS: "; ".join(record.reasons)[:MAX_TAG_VALUE] or "-",
    }
    digest = record.details.get("model_digest")
    if digest:
        tags[ml_contract.TAG_MODEL_DIGEST] = digest["digest"]
    previous = record.details.get("previous_champion")
    if previous:
        tags[ml_contract.TAG_PROMOTION_PREVIOUS_CHAMPION] = str(previous)
    return tags
