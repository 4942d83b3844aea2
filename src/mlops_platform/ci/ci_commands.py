"""The shell commands a project's CI runs on a pull request, in order, read from its CI files.

Only the project's own commands count: GitHub steps' ``run:`` and GitLab jobs' ``script:``.
The provider's plumbing (checkout, ``uses:`` of shared setup actions, a GitLab template's
``before_script`` that builds the venv) is what a local run replaces with its own
environment. ``python -m mlops_platform.ci.ci_commands <project>`` prints them, one per line, so a
developer can run exactly what CI will.
"""

from __future__ import annotations

import argparse
import graphlib
from pathlib import Path
from typing import Any

import yaml

from mlops_platform.governance.ci_config import PULL_REQUEST, ci_jobs

GITHUB_WORKFLOWS = Path(".github/workflows")
GITLAB_FILE = Path(".gitlab-ci.yml")


def ci_files(project: Path) -> dict[str, str]:
    files = sorted((project / GITHUB_WORKFLOWS).glob("*.y*ml")) if (
        project / GITHUB_WORKFLOWS).is_dir() else []
    if (project / GITLAB_FILE).is_file():
        files.append(project / GITLAB_FILE)
    return {str(path.relative_to(project)): path.read_text() for path in files}


def pull_request_jobs(files: dict[str, str]) -> dict[str, list[str]]:
    """Per CI file, the names of the jobs that run on every pull request (file order).

    Jobs with path filters (level 2's deploy preview: `deploy/**`) run only on the pull
    requests that touch those paths, so they are not part of every pull request's commands.
    """
    jobs: dict[str, list[str]] = {}
    for job in ci_jobs(files):
        if PULL_REQUEST in job.triggers and not job.paths:
            jobs.setdefault(job.file, []).append(job.name)
    return jobs


def needs_of(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else [
        need if isinstance(need, str) else need["job"] for need in needs]


def in_github_order(workflow: dict[str, Any], names: list[str]) -> list[str]:
    graph = {name: [need for need in needs_of(workflow["jobs"][name]) if need in names]
             for name in names}
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    ordered: list[str] = []
    while sorter.is_active():
        batch = set(sorter.get_ready())
        ready = [name for name in names if name in batch]
        ordered.extend(ready)
        sorter.done(*ready)
    return ordered


def in_gitlab_order(pipeline: dict[str, Any], names: list[str]) -> list[str]:
    stages = pipeline.get("stages") or ["build", "test", "deploy"]
    return sorted(names, key=lambda name: stages.index(pipeline[name].get("stage", "test"))
                  if pipeline[name].get("stage", "test") in stages else len(stages))


def lines(script: Any) -> list[str]:
    if isinstance(script, str):
        return [script.strip()]
    return [str(line).strip() for line in script or []]


def github_commands(workflow: dict[str, Any], names: list[str]) -> list[str]:
    return [step["run"].strip() for name in in_github_order(workflow, names)
            for step in workflow["jobs"][name].get("steps", []) if "run" in step]


def gitlab_commands(pipeline: dict[str, Any], names: list[str]) -> list[str]:
    return [line for name in in_gitlab_order(pipeline, names)
            for line in lines(pipeline[name].get("script"))]


def pull_request_commands(project: Path) -> list[str]:
    files = ci_files(project)
    commands: list[str] = []
    for file, names in pull_request_jobs(files).items():
        document = yaml.safe_load(files[file])
        if file.endswith(GITLAB_FILE.name):
            commands += gitlab_commands(document, names)
        else:
            commands += github_commands(document, names)
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.ci.ci_commands",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", type=Path, nargs="?", default=Path())
    for command in pull_request_commands(parser.parse_args(argv).project):
        print(command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
