"""The jobs of a project's CI, whichever the provider: what runs, on which trigger.

GitHub Actions workflows and GitLab CI files are reduced to the same shape so that
one control ("pull requests run the tests") reads the same for both. They are read
with their semantics, not searched as text: a job that never runs (`if: false`,
`when: never`) has no trigger; a job or step that cannot fail (`continue-on-error`,
`allow_failure`, a command ending in `|| true`) runs nothing that counts; only
commands (`run:`, `script:`, `uses:`) count, never strings elsewhere (`env:`).
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
# An expression that is always false: the job or step never runs.
NEVER = re.compile(r"^\s*(?:\$\{\{\s*)?(?:false|0|''|\"\"|null)(?:\s*\}\})?\s*$", re.IGNORECASE)
# A shell command whose failure is swallowed cannot fail its job.
SWALLOWED = re.compile(r"(?:\|\||;)\s*(?:true|:|exit\s+0)(?=[\s;)]|$)")


@dataclass(frozen=True)
class CiJob:
    file: str
    name: str
    commands: tuple[str, ...]  # what runs and can fail the job: shell lines and `uses:` refs
    triggers: frozenset[str]  # empty when the job never runs
    environment: str | None
    manual: bool
    extends: tuple[str, ...] = ()
    can_fail: bool = True  # False with continue-on-error / allow_failure
    variables: tuple[tuple[str, str], ...] = ()
    # Path filters (GitHub `on.<event>.paths`, GitLab `rules: changes`): the job runs only when
    # a change touches one of them; empty: on any change.
    paths: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.commands)

    @property
    def counts(self) -> bool:
        """The job runs on some trigger and its failure fails the pipeline."""
        return bool(self.triggers) and self.can_fail

    def runs(self, target: str) -> bool:
        """Does the job run `make <target>`, itself or through a shared action or template?

        Shared building blocks are recognised by name: a composite action
        `.../pipelines/github/<target>@ref`, a GitLab template `pipelines/gitlab/<target>.yml`
        or a job template `.<prefix>-<target>` it extends. A job that never runs or cannot
        fail runs nothing.
        """
        if not self.counts:
            return False
        escaped = re.escape(target)
        end = r"(?=[@/\s'\"]|\.ya?ml|$)"
        pattern = (rf"\bmake\b[^\n]*?[\s'\"]{escaped}(?=[\s'\"]|$)"
                   rf"|pipelines/(?:github|gitlab)/(?:[\w.-]+/)*{escaped}{end}")
        if re.search(pattern, self.text, re.MULTILINE):
            return True
        return any(re.fullmatch(rf"\.?(?:[\w.-]+[-_])?{escaped}", name) for name in self.extends)

    def deploys_to(self, environment: str) -> bool:
        """Does the job run `make deploy` for that environment (ENV=<environment>)?"""
        if not self.runs("deploy"):
            return False
        if dict(self.variables).get("ENV") == environment:
            return True
        pattern = rf"\bmake\b[^\n]*\bdeploy\b[^\n]*\bENV=[\"']?{re.escape(environment)}\b"
        return bool(re.search(pattern, self.text))


def dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, width=1000)


def never_runs(condition: Any) -> bool:
    return condition is False or (isinstance(condition, (str, int)) and bool(
        NEVER.match(str(condition))))


def counted_lines(script: Any) -> list[str]:
    """The shell lines of a `run:`/`script:` whose failure fails the job."""
    entries = [script] if isinstance(script, str) else list(script or [])
    lines = [line.strip() for entry in entries for line in str(entry).splitlines()]
    return [line for line in lines if line and not line.startswith("#")
            and not SWALLOWED.search(line)]


def github_jobs(file: str, workflow: Any) -> list[CiJob]:
    if not isinstance(workflow, dict):
        return []
    # YAML 1.1 reads the bare key `on` as the boolean True.
    events = workflow.get("on", workflow.get(True)) or {}
    names = [events] if isinstance(events, str) else list(events)
    triggers = {GITHUB_EVENTS[name] for name in names if name in GITHUB_EVENTS}
    jobs = workflow.get("jobs") or {}
    paths = github_paths(events)
    return [github_job(file, name, job, triggers, paths) for name, job in jobs.items()
            if isinstance(job, dict)]


def github_paths(events: Any) -> tuple[str, ...]:
    """The workflow's path filters, when every event it runs on has one (else none)."""
    if not isinstance(events, dict) or not events:
        return ()
    filters = [(spec or {}).get("paths") if isinstance(spec, dict) else None
               for spec in events.values()]
    if any(not isinstance(found, list) for found in filters):
        return ()
    return tuple(sorted({str(path) for found in filters for path in found}))


def github_steps(job: dict[str, Any]) -> list[str]:
    """The commands of the job's steps that run and can fail."""
    commands: list[str] = []
    for step in job.get("steps") or []:
        if not isinstance(step, dict) or never_runs(step.get("if", True)) \
                or step.get("continue-on-error") not in (None, False):
            continue
        commands.extend(counted_lines(step.get("run")))
        if isinstance(step.get("uses"), str):
            commands.append(step["uses"])
    return commands


def github_job(file: str, name: str, job: dict[str, Any], triggers: set[str],
               paths: tuple[str, ...] = ()) -> CiJob:
    condition = str(job.get("if", ""))
    named = {kind for event, kind in GITHUB_EVENTS.items() if f"'{event}'" in condition}
    # `if: github.event_name == 'schedule'` narrows the workflow's triggers to that event.
    job_triggers = (triggers & named) if named and "event_name ==" in condition else triggers
    if never_runs(job.get("if", True)):
        job_triggers = set()
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    env = job.get("env") if isinstance(job.get("env"), dict) else {}
    return CiJob(file=file, name=name, commands=tuple(github_steps(job)),
                 triggers=frozenset(job_triggers),
                 environment=str(environment) if environment else None,
                 manual=MANUAL in job_triggers or bool(environment),
                 can_fail=job.get("continue-on-error") in (None, False),
                 variables=tuple((str(k), str(v)) for k, v in env.items()), paths=paths)


def gitlab_jobs(file: str, pipeline: Any) -> list[CiJob]:
    if not isinstance(pipeline, dict):
        return []
    templates = {name: job for name, job in pipeline.items()
                 if isinstance(name, str) and name.startswith(".") and isinstance(job, dict)}
    return [gitlab_job(file, name, job, templates) for name, job in pipeline.items()
            if isinstance(job, dict) and isinstance(name, str)
            and name not in GITLAB_KEYWORDS and not name.startswith(".")]


def live_rules(rules: Any) -> list[Any]:
    """The rules that can add the job (a `when: never` rule only keeps it out)."""
    return [rule for rule in rules or [] if not (isinstance(rule, dict)
                                                 and rule.get("when") == "never")]


def gitlab_job(file: str, name: str, job: dict[str, Any],
               templates: dict[str, dict[str, Any]]) -> CiJob:
    extends = job.get("extends") or []
    merged: dict[str, Any] = {}
    for template in [extends] if isinstance(extends, str) else extends:
        merged.update(templates.get(template, {}))
    merged.update(job)
    rules = live_rules(merged.get("rules"))
    rules_text = dump({"rules": rules, "only": merged.get("only"), "when": merged.get("when")})
    triggers = {kind for source, kind in GITLAB_SOURCES.items() if source in rules_text}
    if BRANCH_RULE.search(rules_text):
        triggers.add(PUSH)
    if not merged.get("rules") and not merged.get("only"):
        triggers |= {PUSH, PULL_REQUEST}
    manual = "manual" in rules_text
    if manual:
        triggers.add(MANUAL)
    if merged.get("when") == "never" or (merged.get("rules") and not rules):
        triggers = set()
    environment = merged.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    allow_failure = [merged.get("allow_failure")] + [
        rule.get("allow_failure") for rule in rules if isinstance(rule, dict)]
    variables = merged.get("variables") if isinstance(merged.get("variables"), dict) else {}
    commands = counted_lines(merged.get("before_script")) + counted_lines(merged.get("script"))
    return CiJob(file=file, name=name, commands=tuple(commands), triggers=frozenset(triggers),
                 environment=str(environment) if environment else None, manual=manual,
                 extends=tuple([extends] if isinstance(extends, str) else extends),
                 can_fail=not any(value not in (None, False) for value in allow_failure),
                 variables=tuple((str(k), str(v)) for k, v in variables.items()),
                 paths=gitlab_paths(rules))


def gitlab_paths(rules: list[Any]) -> tuple[str, ...]:
    """The rules' `changes:` filters, when every rule that adds the job has one (else none)."""
    filters = [rule.get("changes") if isinstance(rule, dict) else None for rule in rules]
    filters = [found.get("paths") if isinstance(found, dict) else found for found in filters]
    if not filters or any(not isinstance(found, list) for found in filters):
        return ()
    return tuple(sorted({str(path) for found in filters for path in found}))


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
