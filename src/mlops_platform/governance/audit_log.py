"""The audit trail of governance decisions: tags on the model version plus a JSON-lines log.

The tags travel with the version in the registry (what the serving policy and a
reviewer see); the log, ``<project>/governance/audit.jsonl``, keeps every decision
in order and is committed with the project, so git history is the audit history.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops_platform import contract as ml_contract

# Who acted, in the order CI systems and shells name them.
ACTOR_VARIABLES = ("MLOPS_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER")
MAX_TAG_VALUE = 5000  # MLflow's limit for a tag value


@dataclass(frozen=True)
class AuditRecord:
    action: str  # "promotion" or "approval"
    outcome: str  # "promoted", "refused", "unchanged", "approved"
    model_name: str
    version: str | None
    actor: str
    at: str
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


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


def append(log_file: Path, record: AuditRecord) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a") as log:
        log.write(record.as_json() + "\n")


def read(log_file: Path) -> list[dict[str, Any]]:
    if not log_file.is_file():
        return []
    return [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]


def promotion_tags(record: AuditRecord) -> dict[str, str]:
    tags = {
        ml_contract.TAG_PROMOTION_OUTCOME: record.outcome,
        ml_contract.TAG_PROMOTION_DECIDED_BY: record.actor,
        ml_contract.TAG_PROMOTION_DECIDED_AT: record.at,
        ml_contract.TAG_PROMOTION_REASONS: "; ".join(record.reasons)[:MAX_TAG_VALUE] or "-",
    }
    previous = record.details.get("previous_champion")
    if previous:
        tags[ml_contract.TAG_PROMOTION_PREVIOUS_CHAMPION] = str(previous)
    return tags
