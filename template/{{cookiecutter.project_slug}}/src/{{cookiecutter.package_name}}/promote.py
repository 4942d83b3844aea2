"""Stage promote: the platform's promotion gate decides whether the challenger becomes champion.

Thin on purpose: the gate, its checks and its audit record live in the pinned
platform package (`mlops_platform.governance.promotion_gate`, also `mlops-policy promote`), never in
a copy here. A refusal is a recorded decision, not a failed pipeline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlops_platform.governance.audit_log import commit_note
from mlops_platform.governance.errors import USER_ERRORS
from mlops_platform.governance.promotion_gate import promote_project

from {{ cookiecutter.package_name }}.records import PROMOTION_FILE
from {{ cookiecutter.package_name }}.steps import run_step


def promote() -> int:
    try:
        decision = promote_project(Path())
    except USER_ERRORS as err:
        print(f"error: promote stopped: {err}", file=sys.stderr)
        return 1
    record = json.loads(decision.record.as_json())
    PROMOTION_FILE.parent.mkdir(parents=True, exist_ok=True)
    PROMOTION_FILE.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"promotion gate: {decision.outcome} {record['model_name']} version "
          f"{record['version']} (champion {decision.champion_before} -> "
          f"{decision.champion_after})")
    for reason in record["reasons"]:
        print(f"  {reason}")
    print(commit_note(decision.log_file))
    return 0


def main() -> int:
    return run_step("promote", promote)


if __name__ == "__main__":
    raise SystemExit(main())
