"""The jobs of a project's CI, whichever the provider: what runs, on which trigger.

GitHub Actions workflows and GitLab CI files are reduced to the same shape so that
one control ("pull requests run the tests") reads the same for both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

PULL_REQUEST, PUSH, SCHEDULE, MANUAL = "pull_request", "push", "schedule", "manual"
GITHUB_EVENTS = {"pull_request": PULL_REQUEST, "pull_request_target": PULL_REQUEST,
                 "push": PUSH, "schedule": SCHEDULE, "workflow_dispatch": MANUAL,
                 "workflow_run": PUSH, "repository_dispatch": MANUAL}
GITLAB_KEYWORDS = {"stages", "variables", "include", "workflow", "default", "image", "services",
                   "before_script", "after_script", "cache", "spec"}
GITLAB_SOURCES = {"merge_request_event": PULL_REQUEST, "schedule": SCHEDULE, "push": PUSH,
                  "web": MANUAL, "api": MANUAL, "trigger": MANUAL, "pipeline": PUSH}
BRANCH_RULE = re.compile(r"CI_COMMIT_BRANCH|CI_COMMIT_TAG|CI_DEFAULT_BRANCH")


@dataclass(frozen=True)
class CiJob:
    file: str
    name: str
    text: str
    triggers: frozenset[str]
    environment: str | None
    manual: bool
    extends: tuple[str, ...] = ()

    def runs(self, target: str) -> bool:
        """Does the job run `make <target>`, itself or through a shared action or template?

        Shared building blocks are recognised by name: a composite action
        `.../pipelines/github/<target>@ref`, a GitLab template `pipelines/gitlab/<target>.yml`
        or a job template `.<prefix>-<target>` it extends.
        """
        escaped = re.escape(target)
        end = r"(?=[@/\s'\"]|\.ya?ml|$)"
        pattern = (rf"\bmake\b[^\n]*?[\s'\"]{escaped}(?=[\s'\"]|$)"
                   rf"|pipelines/(?:github|gitlab)/(?:[\w.-]+/)*{escaped}{end}")
        if re.search(pattern, self.text, re.MULTILINE):
            return True
        return any(re.fullmatch(rf"\.?(?:[\w.-]+[-_])?{escaped}", name) for name in self.extends)


def dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, width=1000)


def github_jobs(file: str, workflow: Any) -> list[CiJob]:
    if not isinstance(workflow, dict):
        return []
    # YAML 1.1 reads the bare key `on` as the boolean True.
    events = workflow.get("on", workflow.get(True)) or {}
    names = [events] if isinstance(events, str) else list(events)
    triggers = {GITHUB_EVENTS[name] for name in names if name in GITHUB_EVENTS}
    jobs = workflow.get("jobs") or {}
    return [github_job(file, name, job, triggers) for name, job in jobs.items()
            if isinstance(job, dict)]


def github_job(file: str, name: str, job: dict[str, Any], triggers: set[str]) -> CiJob:
    condition = str(job.get("if", ""))
    named = {kind for event, kind in GITHUB_EVENTS.items() if f"'{event}'" in condition}
    # `if: github.event_name == 'schedule'` narrows the workflow's triggers to that event.
    job_triggers = (triggers & named) if named and "event_name ==" in condition else triggers
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return CiJob(file=file, name=name, text=dump(job), triggers=frozenset(job_triggers),
                 environment=str(environment) if environment else None,
                 manual=MANUAL in job_triggers or bool(environment))


def gitlab_jobs(file: str, pipeline: Any) -> list[CiJob]:
    if not isinstance(pipeline, dict):
        return []
    templates = {name: job for name, job in pipeline.items()
                 if isinstance(name, str) and name.startswith(".") and isinstance(job, dict)}
    return [gitlab_job(file, name, job, templates) for name, job in pipeline.items()
            if isinstance(job, dict) and isinstance(name, str)
            and name not in GITLAB_KEYWORDS and not name.startswith(".")]


def gitlab_job(file: str, name: str, job: dict[str, Any],
               templates: dict[str, dict[str, Any]]) -> CiJob:
    extends = job.get("extends") or []
    merged: dict[str, Any] = {}
    for template in [extends] if isinstance(extends, str) else extends:
        merged.update(templates.get(template, {}))
    merged.update(job)
    rules_text = dump({key: merged.get(key) for key in ("rules", "only", "when")})
    triggers = {kind for source, kind in GITLAB_SOURCES.items() if source in rules_text}
    if BRANCH_RULE.search(rules_text):
        triggers.add(PUSH)
    if not merged.get("rules") and not merged.get("only"):
        triggers |= {PUSH, PULL_REQUEST}
    manual = "manual" in rules_text
    if manual:
        triggers.add(MANUAL)
    environment = merged.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return CiJob(file=file, name=name, text=dump(merged), triggers=frozenset(triggers),
                 environment=str(environment) if environment else None, manual=manual,
                 extends=tuple([extends] if isinstance(extends, str) else extends))


def ci_jobs(files: dict[str, str]) -> list[CiJob]:
    jobs: list[CiJob] = []
    for file, text in files.items():
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if file.endswith(".gitlab-ci.yml"):
            jobs.extend(gitlab_jobs(file, document))
        else:
            jobs.extend(github_jobs(file, document))
    return jobs
