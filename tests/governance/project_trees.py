"""Projects for the checker: baked with real cookiecutter, and CI files of the agreed shape.

The CI files below follow the CI/CD agreement of the team (which make target runs
on which trigger, per level); the checker's tests use them where the template does
not ship its own CI files yet, and the real ones once it does.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from cookiecutter.main import cookiecutter

from mlops_platform.scaffold.repository import initialise_project

REPO_ROOT = Path(__file__).resolve().parents[2]


def bake(output_dir: Path, level: int, provider: str, **context: str) -> Path:
    """A baked project with the git and DVC set-up its first `make venv` does."""
    project = Path(cookiecutter(str(REPO_ROOT), no_input=True, output_dir=str(output_dir),
                                extra_context={"maturity_level": str(level),
                                               "ci_provider": provider, **context}))
    initialise_project(project)
    return project


# (job, trigger, commands, prod environment?) per level; each level adds to the one below.
JOBS_FROM_LEVEL = {
    0: [("checks", "pull_request", ["make lint test check"], False),
        ("pipeline", "manual", ["make pipeline"], False)],
    1: [("pr-pipeline", "pull_request", ["make pipeline-sample", "make metrics-diff"], False),
        ("train", "push", ["make pipeline"], False),
        ("retrain", "schedule", ["make retrain"], False)],
    2: [("staging", "manual", ["make approve", "make promote", "make deploy ENV=staging"],
         False),
        ("prod", "push", ["make deploy ENV=prod"], True),
        ("drift", "schedule", ["make drift"], False),
        ("rollback", "manual", ["make rollback ENV=prod"], False)],
}
GITHUB_EVENTS = {"pull_request": "pull_request", "push": "push", "schedule": "schedule",
                 "manual": "workflow_dispatch"}
GITLAB_RULES = {"pull_request": '$CI_PIPELINE_SOURCE == "merge_request_event"',
                "push": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
                "schedule": '$CI_PIPELINE_SOURCE == "schedule"',
                "manual": '$CI_PIPELINE_SOURCE == "web"'}


def jobs_of(level: int) -> list[tuple[str, str, list[str], bool]]:
    return [job for from_level, jobs in JOBS_FROM_LEVEL.items() if from_level <= level
            for job in jobs]


def github_workflow(level: int) -> str:
    events: dict = {"pull_request": None, "push": {"branches": ["main"]},
                    "schedule": [{"cron": "0 3 * * 1"}], "workflow_dispatch": None}
    jobs = {}
    for name, trigger, commands, prod in jobs_of(level):
        job: dict = {"runs-on": "ubuntu-24.04",
                     "if": f"github.event_name == '{GITHUB_EVENTS[trigger]}'",
                     "steps": [{"run": command} for command in commands]}
        if prod:
            job["environment"] = "prod"
        jobs[name] = job
    return yaml.safe_dump({"name": "ci", "on": events, "jobs": jobs}, sort_keys=False)


def gitlab_pipeline(level: int) -> str:
    pipeline: dict = {"stages": ["test", "deploy"]}
    for name, trigger, commands, prod in jobs_of(level):
        rule: dict = {"if": GITLAB_RULES[trigger]}
        job: dict = {"stage": "deploy" if prod else "test", "script": commands}
        if prod:
            rule["when"] = "manual"
            job["environment"] = {"name": "prod"}
        job["rules"] = [rule]
        pipeline[name] = job
    return yaml.safe_dump(pipeline, sort_keys=False)


def add_agreed_ci(project: Path, level: int, provider: str) -> None:
    """Write the CI file of the agreed shape for this level and provider."""
    if provider == "github":
        path = project / ".github" / "workflows" / "ci.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(github_workflow(level))
    else:
        (project / ".gitlab-ci.yml").write_text(gitlab_pipeline(level))


# Hollowing a project: everything still names what it should do; nothing does it.
STEP_MODULES = ("prepare", "validate", "tune", "train", "evaluate", "register", "promote",
                "model_card", "monitor")
IMPORT = re.compile(r"^(?:from \S+ import \([^)]*\)|from \S+ import .*|import .*)$",
                    re.MULTILINE)
SHELL_SAFE = re.compile(r"[^\w ./=$()-]")


def hollow_tests(project: Path) -> None:
    """Every test file keeps its imports (the names it mentions) and asserts nothing."""
    for path in sorted((project / "tests").glob("test_*.py")):
        imports = "\n".join(IMPORT.findall(path.read_text()))
        path.write_text(f"{imports}\n\n\ndef test_x() -> None:\n    assert True\n")


def hollow_steps(project: Path, package: str) -> None:
    """Every step module becomes its own code commented out."""
    for module in STEP_MODULES:
        path = project / "src" / package / f"{module}.py"
        path.write_text("".join(f"# {line}\n" for line in path.read_text().splitlines()))


def hollow_makefile(project: Path) -> None:
    """Every recipe line only echoes what it used to run."""
    lines = (project / "Makefile").read_text().splitlines()
    (project / "Makefile").write_text("".join(
        f"\t@echo '{SHELL_SAFE.sub(' ', line)}'\n" if line.startswith("\t") else f"{line}\n"
        for line in lines))


def hollow_github_ci(project: Path) -> None:
    """Jobs alternately never run (`if: false`) or cannot fail (`|| true`)."""
    path = project / ".github" / "workflows" / "ci.yml"
    workflow = yaml.safe_load(path.read_text())
    for index, job in enumerate(workflow["jobs"].values()):
        if index % 2:
            job["if"] = False
        for step in job.get("steps", []):
            if "run" in step:
                step["run"] = f"{step['run']} || true"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))


def hollow(project: Path, package: str) -> None:
    hollow_tests(project)
    hollow_steps(project, package)
    hollow_makefile(project)
    hollow_github_ci(project)
