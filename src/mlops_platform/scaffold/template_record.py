"""Which template version a project came from, and its answers: cruft's `.cruft.json`.

`make update` (`cruft update`) renders the template at the recorded commit and at the
newest one with these answers and applies the difference to the project, uncommitted.
Standard library only: this runs inside a plain cookiecutter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RECORD_FILE = ".cruft.json"
TEMPLATE_DIRECTORY = "template"
# What the project owns once baked: cruft never brings template changes into these.
PROJECT_OWNED = (".venv", ".venv-mlserver", "data", "models", "reports", "dvc.lock")


def write_template_record(project_dir: Path, checkout: Path,
                          context: Mapping[str, Any]) -> Path | None:
    """Write `.cruft.json`; without a git commit to record, warn and write nothing."""
    commit = template_commit(checkout)
    if commit is None:
        print(f"warning: {checkout} is not a git checkout, so the project records no template "
              f"version and `make update` cannot run; bake from a git clone of the platform "
              f"repository to have it", file=sys.stderr)
        return None
    record = {
        "template": str(checkout.resolve()),
        "commit": commit,
        "checkout": None,
        "context": {"cookiecutter": answers(context)},
        "directory": TEMPLATE_DIRECTORY,
        "skip": list(PROJECT_OWNED),
    }
    path = project_dir / RECORD_FILE
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def with_repo_dir(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context with cookiecutter's `_repo_dir`, which `cruft update` renders without:
    cruft passes the recorded template location as `_template` instead."""
    if "_repo_dir" in context:
        return dict(context)
    return {**context, "_repo_dir": str(Path(str(context["_template"])) / TEMPLATE_DIRECTORY)}


def answers(context: Mapping[str, Any]) -> dict[str, Any]:
    """The user's answers; `_`-keys are cookiecutter's own (and cruft drops them)."""
    return {key: value for key, value in context.items() if not key.startswith("_")}


def template_commit(checkout: Path) -> str | None:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=checkout,
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None
