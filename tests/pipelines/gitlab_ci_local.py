"""gitlab-ci-local (pipelines/tools, pinned in its lock) on a project's GitLab pipeline.

A project's checkout is set up as GitLab's runner sees it: its `origin` on a GitLab host, main
pushed there, and the platform's shared job templates where its `include: project:` fetches
them (gitlab-ci-local's include cache, filled from this checkout instead of the network). Jobs
run with the shell executor: their `image:` is not pulled, the job runs on this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.pipelines.ci_tools import REPO_ROOT, node_tool

GITLAB_HOST = "gitlab.example.com"
STATE_DIR = ".gitlab-ci-local"
# What a merge request's pipeline has that gitlab-ci-local does not set by itself (and the
# branch variable GitLab leaves out of merge-request pipelines).
MERGE_REQUEST = "merge_request_event"
# Variables through which a job would reach a real GitLab (a comment, a push): never passed on.
CI_CONTEXT = ("GITHUB_", "CI_", "GITLAB_", "MLOPS_GITLAB_TOKEN")


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True,
                          text=True).stdout


def as_gitlab_checkout(project: Path, where: Path) -> Path:
    """A copy of ``project`` with a GitLab `origin` that has main, and its include cached."""
    copy = where / project.name
    shutil.copytree(project, copy, symlinks=True,
                    ignore=shutil.ignore_patterns(".venv", ".venv-*", STATE_DIR))
    remote = "set-url" if "origin" in git(copy, "remote").split() else "add"
    git(copy, "remote", remote, "origin", f"git@{GITLAB_HOST}:mlops/{project.name}.git")
    git(copy, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(copy, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    with (copy / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write(f"\n/{STATE_DIR}/\n")
    cache_includes(copy)
    return copy


def cache_includes(checkout: Path, source_root: Path = REPO_ROOT) -> None:
    """Each `include: project:` file, from this platform checkout (what the pinned ref holds)."""
    pipeline = yaml.safe_load((checkout / ".gitlab-ci.yml").read_text())
    for include in pipeline.get("include") or []:
        files = include["file"] if isinstance(include["file"], list) else [include["file"]]
        for name in files:
            cached = (checkout / STATE_DIR / "includes" / GITLAB_HOST / include["project"]
                      / include["ref"] / name.lstrip("/"))
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source_root / name.lstrip("/"), cached)


def run(checkout: Path, source: str, *args: str, file: str | None = None,
        variables: dict[str, str] | None = None, branch: bool = True,
        env: dict[str, str] | None = None, timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    """gitlab-ci-local in ``checkout`` for a pipeline of ``source`` (of a tag when not
    ``branch``: GitLab leaves CI_COMMIT_BRANCH out of tag and merge-request pipelines)."""
    flags, named = ["--variable", f"CI_PIPELINE_SOURCE={source}"], ["CI_PIPELINE_SOURCE"]
    if source == MERGE_REQUEST or not branch:
        flags += ["--unset-variable", "CI_COMMIT_BRANCH"]
        named.append("CI_COMMIT_BRANCH")
    if source == MERGE_REQUEST:
        flags += ["--variable", "CI_MERGE_REQUEST_IID=1"]
    for name, value in (variables or {}).items():
        flags += ["--variable", f"{name}={value}"]
        named.append(name)
    flags += ["--ignore-predefined-vars", ",".join(named), *(["--file", file] if file else [])]
    base = {name: value for name, value in (env or os.environ).items()
            if not name.startswith(CI_CONTEXT)}
    return subprocess.run([str(node_tool("node_modules/.bin/gitlab-ci-local")), *flags, *args],
                          cwd=checkout, env=base, capture_output=True, text=True,
                          timeout=timeout)


def pipeline_jobs(checkout: Path, source: str, *, file: str | None = None,
                  variables: dict[str, str] | None = None,
                  branch: bool = True) -> dict[str, str]:
    """The jobs GitLab would create for a pipeline of ``source`` and when each runs."""
    listed = run(checkout, source, "--list-json", file=file, variables=variables, branch=branch)
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    return {job["name"]: job["when"] for job in json.loads(listed.stdout)
            if job["when"] != "never"}
