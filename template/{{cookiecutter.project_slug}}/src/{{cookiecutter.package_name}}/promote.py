"""Stage promote: the platform's promotion gate decides whether the challenger becomes champion.

Thin on purpose: the gate, its checks and its audit record live in the pinned
platform package (`mlops_platform.governance.promotion_gate`, also `mlops-policy promote`), never in
a copy here. A refusal is a recorded decision, not a failed pipeline. A refusal for want of an
approval is not final: the approval lands in the audit log, a dependency of this stage in
dvc.yaml, so the next `make pipeline` runs the gate again; `make promote` completes it at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlops_platform.api import USER_ERRORS, commit_note, promote_project

from {{ cookiecutter.package_name }}.records import PROMOTION_FILE
from {{ cookiecutter.package_name }}.steps import run_step


def promote() -> int:
    try:
        decision = promote_project(Path())
    except USER_ERRORS as err:
        print(f"error: promote stopped: {err}", file=sys.stderr)
        return 1
    decision.write_record(PROMOTION_FILE)
    record = decision.record
    print(f"promotion gate: {decision.outcome} {record.model_name} version "
          f"{record.version} (champion {decision.champion_before} -> "
          f"{decision.champion_after})")
    for reason in record.reasons:
        print(f"  {reason}")
    if decision.awaiting_approval:
        print(f"next: version {record.version} waits only for an approval. Someone other than "
              "you and the run's author runs `make approve APPROVER=<name>`, then `make promote` "
              f"completes the promotion and rewrites {PROMOTION_FILE}")
    print(commit_note(decision.log_file))
    return 0


def main() -> int:
    return run_step("promote", promote)


if __name__ == "__main__":
    raise SystemExit(main())
