"""The platform repository's Pulumi commands, as its CI runs them (and as a person can).

``python -m mlops_platform.ci.platform_stack preview --stack dev --markdown build/preview-dev.md``
previews with the CrossGuard pack and its per-stack config (the markdown goes on the PR);
``up`` applies; ``drift`` refreshes and fails when the cluster no longer matches git
(``--expect-no-changes``); ``destroy`` tears down; ``smoke`` port-forwards the stack's
tracking server and runs the smoke test (log a run, register a model) through it.
Exit codes: pulumi's own; 2 when the stack or the tools are not there.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mlops_platform.ci.smoke_test import SmokeTestError, run_smoke_test
from mlops_platform.kubernetes.topology import TRACKING
from mlops_platform.processes import (
    LOOPBACK,
    free_port,
    start_process_group,
    stop_process_group,
    wait_until_healthy,
)

# Run from the platform repository (where Pulumi.yaml is), as its CI does.
REPO_ROOT = Path()
POLICY_PACK = Path("policies/platform_pack")
ACTIONS = {
    "preview": ["preview", "--diff"],
    "up": ["up", "--yes", "--diff"],
    "drift": ["preview", "--refresh", "--expect-no-changes", "--diff"],
    "destroy": ["destroy", "--yes"],
}
WITH_POLICY_PACK = {"preview", "up", "drift"}


class StackError(ValueError):
    """The stack or a tool it needs is missing; the message names the fix."""


def known_stacks(root: Path = REPO_ROOT) -> list[str]:
    return sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml")
                  for path in root.glob("Pulumi.*.yaml"))


def check_stack(stack: str, root: Path = REPO_ROOT) -> None:
    if stack not in known_stacks(root):
        raise StackError(f"unknown stack {stack!r}: choose one of {', '.join(known_stacks(root))} "
                         f"(or add Pulumi.{stack}.yaml)")
    if not (root / POLICY_PACK / "config" / f"{stack}.json").is_file():
        raise StackError(f"{POLICY_PACK}/config/{stack}.json is missing: render the pack's "
                         "per-stack config (docs/governance.md, the platform pack)")


def pulumi_command(action: str, stack: str) -> list[str]:
    command = ["pulumi", *ACTIONS[action], "--stack", stack, "--non-interactive"]
    if action in WITH_POLICY_PACK:
        command += ["--policy-pack", str(POLICY_PACK),
                    "--policy-pack-config", str(POLICY_PACK / "config" / f"{stack}.json")]
    return command


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(f"`{name}` is not on PATH: install it (CI installs it with its action)")
    return path


def as_markdown(action: str, stack: str, output: str, returncode: int) -> str:
    status = "succeeded" if returncode == 0 else f"failed (exit {returncode})"
    return (f"### `pulumi {action}` of stack `{stack}` {status}\n\n"
            f"<details><summary>output</summary>\n\n```\n{output.strip()}\n```\n</details>\n")


def run_pulumi(action: str, stack: str, markdown: Path | None) -> int:
    check_stack(stack)
    require_tool("pulumi")
    result = subprocess.run(pulumi_command(action, stack), cwd=REPO_ROOT, capture_output=True,
                            text=True)
    output = result.stdout + result.stderr
    print(output)
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(as_markdown(action, stack, output, result.returncode))
    return result.returncode


def smoke(stack: str, namespace: str) -> int:
    check_stack(stack)
    kubectl = require_tool("kubectl")
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="port-forward-")) / "kubectl.log"
    forward = start_process_group(
        [kubectl, "port-forward", "--address", LOOPBACK, "--namespace", namespace,
         f"service/{TRACKING.name}", f"{port}:{TRACKING.port}"], log)
    try:
        uri = f"http://{LOOPBACK}:{port}"
        wait_until_healthy(f"{uri}/health", forward, log, timeout=120)
        result = run_smoke_test(uri)
    except SmokeTestError as err:
        print(f"smoke test failed: {err}", file=sys.stderr)
        return 1
    finally:
        stop_process_group(forward.pid)
    print(f"smoke test passed on stack {stack}: run {result.run_id}, "
          f"model {result.model_name} version {result.model_version}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.ci.platform_stack",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=[*ACTIONS, "smoke"])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--markdown", type=Path, help="also write the output as PR markdown")
    parser.add_argument("--namespace", help="smoke: the platform namespace "
                        "(default: mlops-<stack>, the platform's default)")
    args = parser.parse_args(argv)
    try:
        if args.action == "smoke":
            return smoke(args.stack, args.namespace or f"mlops-{args.stack}")
        return run_pulumi(args.action, args.stack, args.markdown)
    except StackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
