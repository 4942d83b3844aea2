"""GitOps deployment of a project's model: `deploy/<env>.yaml` is what serves, git is its history.

``mlops-deploy deploy --project . --env staging [--version V | --alias champion]``
pins the model of ``params.yaml`` at a concrete registry version (an alias is resolved first,
so git records exactly what serves) and commits the file. ``rollback --env prod`` puts back
the version that file declared before the current one, found in its git history, and commits.
The commit is the deployment: CI pushes it (or opens a pull request) and the platform's
serving program applies it. Exit codes: 0 done (or nothing to change), 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlops_platform import contract as ml_contract
from mlops_platform.client.project import ProjectError, model_name
from mlops_platform.client.registry import RegistryError, resolve_version
from mlops_platform.client.tracking import TrackingServerError, reachable_target
from mlops_platform.deploy.manifest import (
    DeploymentManifest,
    DeploymentManifestError,
    ServedModel,
    load_deployment,
)
from mlops_platform.params import ParamsError

ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class ServingProfile:
    """What the platform pack demands of a served model in one environment."""

    min_replicas: int
    approval_required: bool


# The pack (policies/platform_pack, published alone, so not importable here) sets these per
# environment: `minimum-replicas.minReplicas` and `served-model-approved.required`; a test keeps
# them equal. Two replicas also give the model a PodDisruptionBudget (ModelServing).
SERVING_PROFILES = {"dev": ServingProfile(1, False), "staging": ServingProfile(1, False),
                    "prod": ServingProfile(2, True)}


class DeployError(RuntimeError):
    """The deployment cannot be made; the message says why and what to do."""


def manifest_path(env: str) -> Path:
    return Path("deploy") / f"{env}.yaml"


def served_version(manifest: DeploymentManifest, name: str) -> int | None:
    return next((model.version for model in manifest.models if model.name == name), None)


def with_version(manifest: DeploymentManifest, name: str, version: int,
                 approved_by: str | None = None) -> DeploymentManifest:
    """The manifest serving `name` at `version`, approved by `approved_by`, as the pack of the
    manifest's environment demands it; resources of an entry are kept, replicas raised to the
    environment's minimum. A version without the approval its environment needs is refused."""
    profile = SERVING_PROFILES[manifest.environment]
    if profile.approval_required and not approved_by:
        raise DeployError(f"version {version} of {name!r} has no recorded approval, and "
                          f"{manifest.environment} serves only approved versions: approve it "
                          "(the approval job, or `make approve`) and promote it first")
    current = next((model for model in manifest.models if model.name == name), None)
    update = {"version": version, "alias": None, "approved_by": approved_by,
              "replicas": max(profile.min_replicas, current.replicas if current else 1)}
    if current is None:
        models = [*manifest.models, ServedModel(name=name, **update)]
    else:
        pinned = current.model_copy(update=update)
        models = [pinned if model.name == name else model for model in manifest.models]
    # Revalidate: model_copy skips the validators.
    return DeploymentManifest.model_validate({**manifest.model_dump(), "models": [
        model.model_dump(exclude_none=True) for model in models]})


def header_comments(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(f"{line}\n" for line in lines)


def write_manifest(path: Path, manifest: DeploymentManifest) -> None:
    body = yaml.safe_dump(manifest.model_dump(mode="json", exclude_none=True), sort_keys=False)
    path.write_text(header_comments(path.read_text()) + body)


def git(project: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True)
    if result.returncode != 0:
        raise DeployError(f"git {' '.join(args)} failed in {project}: {result.stderr.strip()}")
    return result.stdout


def commit(project: Path, path: Path, message: str, *more: Path) -> None:
    paths = [str(path), *map(str, more)]
    git(project, "add", "--", *paths)
    git(project, "commit", "--quiet", "-m", message, "--", *paths)


def registry_version(project: Path, name: str, version: int | None, alias: str
                     ) -> tuple[int, str | None]:
    """The version asked for and who approved it, from the registry's approval binding."""
    client = reachable_target(project).client()
    found = resolve_version(client, name, None if version is None else str(version), alias)
    tags = client.get_model_version(name, found).tags
    try:
        binding = json.loads(tags.get(ml_contract.TAG_APPROVAL_RECORD) or "null")
    except json.JSONDecodeError:
        binding = None
    # Only a binding made for this very version counts (a copied tag names another one).
    bound = isinstance(binding, dict) and str(binding.get("version")) == found
    return int(found), str(binding["approver"]) if bound and binding.get("approver") else None


def previous_version(project: Path, path: Path, name: str, current: int | None
                     ) -> tuple[int, str | None]:
    """The version the manifest declared before `current` and its approver, newest first."""
    revisions = git(project, "log", "--format=%H", "--", str(path)).split()
    for revision in revisions:
        text = git(project, "show", f"{revision}:{path.as_posix()}")
        try:
            older = DeploymentManifest.model_validate(yaml.safe_load(text))
        except (ValueError, yaml.YAMLError):
            continue
        entry = next((model for model in older.models if model.name == name), None)
        if entry is not None and entry.version is not None and entry.version != current:
            return entry.version, entry.approved_by
    raise DeployError(f"{path} never declared another version of {name!r} in git history: "
                      "nothing to roll back to")


def deploy(project: Path, env: str, version: int | None, alias: str, do_commit: bool) -> str:
    path = manifest_path(env)
    manifest = load_deployment(project / path)
    name = model_name(project)
    target, approver = registry_version(project, name, version, alias)
    if served_version(manifest, name) == target:
        return f"{path} already serves {name} version {target}: nothing to change"
    write_manifest(project / path, with_version(manifest, name, target, approver))
    if do_commit:
        commit(project, path, f"deploy: {name} version {target} to {env}")
    return f"{path}: {name} version {target}"


def rollback(project: Path, env: str, do_commit: bool) -> str:
    path = manifest_path(env)
    manifest = load_deployment(project / path)
    name = model_name(project)
    current = served_version(manifest, name)
    target, approver = previous_version(project, path, name, current)
    write_manifest(project / path, with_version(manifest, name, target, approver))
    if do_commit:
        commit(project, path, f"rollback: {name} version {current} -> {target} in {env}")
    return f"{path}: {name} rolled back from version {current} to {target}"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mlops-deploy", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True)
    for name in ("deploy", "rollback"):
        command = commands.add_parser(name)
        command.add_argument("--project", type=Path, default=Path())
        command.add_argument("--env", required=True, choices=ENVIRONMENTS)
        command.add_argument("--no-commit", dest="commit", action="store_false",
                             help="only edit the file (default: commit it)")
    which = commands.choices["deploy"].add_mutually_exclusive_group()
    which.add_argument("--version", type=int, help="a registry version number")
    which.add_argument("--alias", default=ml_contract.ALIAS_CHAMPION,
                       help="a registry alias, resolved to its version (default: champion)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "deploy":
            message = deploy(args.project, args.env, args.version, args.alias, args.commit)
        else:
            message = rollback(args.project, args.env, args.commit)
    except (DeployError, DeploymentManifestError, ParamsError, ProjectError, RegistryError,
            TrackingServerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(message)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
