"""The jobs of a project's CI, whichever the provider: what runs, on which trigger.

GitHub Actions workflows and GitLab CI files are reduced to the same shape so that
one control ("pull requests run the tests") reads the same for both. They are read
with their semantics, not searched as text: a job that never runs (`if: false`,
`when: never`, or a condition that is false whatever the run: comparing literals, or the
event with one the workflow never gets) has no trigger; a job or step that cannot fail
(`continue-on-error`, `allow_failure`) runs nothing that counts, and neither does a command
that cannot fail or only describes (`|| echo`, `make -n`, `--help`: ``shell_commands``); only
commands (`run:`, `script:`, `uses:`) count, never strings elsewhere (`env:`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from mlops_platform.governance.shell_commands import effective_calls

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
# GitLab's pipeline sources beyond those above: a rule comparing with any other never holds.
GITLAB_OTHER_SOURCES = {"parent_pipeline", "external", "external_pull_request_event", "chat",
                        "webide", "ondemand_dast_scan", "ondemand_dast_validation",
                        "security_orchestration_policy"}
LITERAL = re.compile(r"""^\s*(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)"|"""
                     r"""(?P<other>-?\d+(?:\.\d+)?|true|false|null))\s*$""", re.IGNORECASE)
COMPARISON = re.compile(r"^(?P<left>[^=!]+?)\s*(?P<operator>==|!=)\s*(?P<right>[^=!]+)$")


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
        if any(call[0] == "make" and target in call[1:]
               for line in self.commands for call in effective_calls(line, errexit=True)):
            return True
        escaped = re.escape(target)
        end = r"(?=[@/\s'\"]|\.ya?ml|$)"
        if re.search(rf"pipelines/(?:github|gitlab)/(?:[\w.-]+/)*{escaped}{end}", self.text,
                     re.MULTILINE):
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


def never_runs(condition: Any, variable: str = "github.event_name",
               values: set[str] | None = None) -> bool:
    """The condition is false whatever the run: a false literal, or every alternative (`||`)
    holds a false term (`&&`): literals compared, or ``variable`` (the event) compared with
    a value it never takes here (``values``). Conditions with calls or parentheses are taken
    as possibly true."""
    if condition is False:
        return True
    if not isinstance(condition, (str, int)):
        return False
    text = str(condition).strip()
    if NEVER.match(text):
        return True
    body = text.removeprefix("${{").removesuffix("}}").strip()
    if not body or "(" in body or ")" in body:
        return False
    return all(any(_false_term(term, variable, values) for term in alternative.split("&&"))
               for alternative in body.split("||"))


def _literal(text: str) -> str | None:
    """A literal's value as text (lower case: GitHub compares strings ignoring case)."""
    found = LITERAL.match(text)
    if not found:
        return None
    return next(value for value in found.groupdict().values() if value is not None).lower()


def _false_term(term: str, variable: str, values: set[str] | None) -> bool:
    term = term.strip()
    if NEVER.match(term) or (term.startswith("!") and _literal(term[1:]) not in
                             (None, "false", "0", "", "null")):
        return True
    found = COMPARISON.match(term)
    if not found:
        return False
    left, right = found["left"].strip(), found["right"].strip()
    equal = found["operator"] == "=="
    left_value, right_value = _literal(left), _literal(right)
    if left_value is not None and right_value is not None:
        return (left_value == right_value) != equal
    if values is None:
        return False
    for name, other in ((left, right_value), (right, left_value)):
        if name == variable and other is not None:
            known = {value.lower() for value in values}
            return other not in known if equal else known == {other}
    return False


def counted_lines(script: Any, errexit: bool = True) -> list[str]:
    """The shell lines of a `run:`/`script:` that run a command whose failure fails the job
    (CI runners stop at the first failure: errexit, pipefail)."""
    entries = [script] if isinstance(script, str) else list(script or [])
    lines = [line.strip() for entry in entries
             for line in str(entry).replace("\\\n", " ").splitlines()]
    return [line for line in lines if line and not line.startswith("#")
            and effective_calls(line, errexit=errexit)]


def github_jobs(file: str, workflow: Any) -> list[CiJob]:
    if not isinstance(workflow, dict):
        return []
    # YAML 1.1 reads the bare key `on` as the boolean True.
    events = workflow.get("on", workflow.get(True)) or {}
    names = [events] if isinstance(events, str) else list(events)
    triggers = {GITHUB_EVENTS[name] for name in names if name in GITHUB_EVENTS}
    jobs = workflow.get("jobs") or {}
    paths = github_paths(events)
    return [github_job(file, name, job, triggers, paths, set(names)) for name, job in jobs.items()
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


def github_steps(job: dict[str, Any], events: set[str] | None = None) -> list[str]:
    """The commands of the job's steps that run and can fail."""
    commands: list[str] = []
    for step in job.get("steps") or []:
        if not isinstance(step, dict) or never_runs(step.get("if", True), values=events) \
                or step.get("continue-on-error") not in (None, False):
            continue
        commands.extend(counted_lines(step.get("run")))
        if isinstance(step.get("uses"), str):
            commands.append(step["uses"])
    return commands


def github_job(file: str, name: str, job: dict[str, Any], triggers: set[str],
               paths: tuple[str, ...] = (), events: set[str] | None = None) -> CiJob:
    condition = str(job.get("if", ""))
    named = {kind for event, kind in GITHUB_EVENTS.items() if f"'{event}'" in condition}
    # `if: github.event_name == 'schedule'` narrows the workflow's triggers to that event.
    job_triggers = (triggers & named) if named and "event_name ==" in condition else triggers
    if never_runs(job.get("if", True), values=events):
        job_triggers = set()
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    env = job.get("env") if isinstance(job.get("env"), dict) else {}
    return CiJob(file=file, name=name, commands=tuple(github_steps(job, events)),
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
    """The rules that can add the job: not `when: never` (it only keeps it out), nor an `if`
    that never holds."""
    sources = set(GITLAB_SOURCES) | GITLAB_OTHER_SOURCES
    return [rule for rule in rules or [] if not (isinstance(rule, dict) and (
        rule.get("when") == "never"
        or never_runs(rule.get("if", True), "$CI_PIPELINE_SOURCE", sources)))]


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
