"""Promotion: the platform's promotion gate decides whether the challenger becomes champion.

Thin on purpose: the gate and its audit record live in the pinned platform package
(`mlops-policy promote`), never in a copy here.
"""

from __future__ import annotations

import importlib.util
import json
import sys

from {{ cookiecutter.package_name }}.records import PROMOTION_FILE

GATE_MODULE = "policies.cli"


def main() -> int:
    if importlib.util.find_spec(GATE_MODULE) is None:
        print("the promotion gate (mlops-policy promote) comes with the platform's governance "
              "release; the champion stays unchanged", file=sys.stderr)
        code, status = 0, "gate-not-installed"
    else:
        from policies.cli import main as policy_cli

        code = policy_cli(["promote", "--project", "."])
        status = "ran"
    PROMOTION_FILE.parent.mkdir(parents=True, exist_ok=True)
    PROMOTION_FILE.write_text(json.dumps({"gate": status, "exit_code": code}, indent=2) + "\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
