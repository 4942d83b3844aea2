"""The kinds of evidence a control can ask for, one function per kind.

A control in the catalogue names a kind and its arguments; each function here
returns whether the evidence is there and a sentence saying what it found or what
is missing (with the file to change).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mlops_platform import contract as ml_contract
from mlops_platform.governance.ci_config import MANUAL, CiJob, ci_jobs
from mlops_platform.governance.project import OUTPUTS_FILE, Project
from mlops_platform.governance.promotion_gate import PROMOTED, UNCHANGED
from mlops_platform.governance.tracking import TrackingServerError, target_for, unreachable_reason


@dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str


@dataclass(frozen=True)
class RegisteredVersion:
    version: str
    tags: dict[str, str]
    aliases: tuple[str, ...]


@dataclass
class Inspection:
    """A project plus what is derived from it, shared by every check of one run."""

    project: Project
    use_tracking: bool = True

    @cached_property
    def jobs(self) -> list[CiJob]:
        return ci_jobs(self.project.ci_files)

    @cached_property
    def registry_versions(self) -> tuple[list[RegisteredVersion] | None, str]:
        """The registered versions of the project's model, or None and why not."""
        if not self.use_tracking:
            return None, "tracking server not consulted (--offline)"
        try:
            target = target_for(self.project.root)
        except TrackingServerError as err:
            return None, str(err)
        reason = unreachable_reason(target.tracking_uri, timeout=2.0)
        if reason:
            return None, f"tracking server {target.tracking_uri} unreachable ({reason})"
        from mlflow.exceptions import MlflowException

        name = self.project.param(ml_contract.PARAM_MODEL_NAME)
        client = target.client()
        try:
            versions = client.search_model_versions(f"name = '{name}'")
            # Search results do not carry aliases; the registered model does.
            aliases = client.get_registered_model(name).aliases if versions else {}
        except MlflowException as err:
            return None, f"registry at {target.tracking_uri} refused the search: {err.message}"
        return [RegisteredVersion(str(v.version), dict(v.tags),
                                  tuple(a for a, n in aliases.items() if str(n) == str(v.version)))
                for v in versions], target.tracking_uri


Check = Callable[..., Outcome]
GATED_OUTCOMES = (PROMOTED, UNCHANGED)


def files(inspection: Inspection, paths: list[str]) -> Outcome:
    missing = [path for path in paths if not inspection.project.exists(path)]
    if missing:
        return Outcome(False, f"missing {', '.join(missing)}")
    return Outcome(True, f"{', '.join(paths)} present")


def params_keys(inspection: Inspection, keys: list[str]) -> Outcome:
    missing = [key for key in keys if inspection.project.param(key) is None]
    if missing:
        return Outcome(False, f"params.yaml lacks {', '.join(missing)}")
    return Outcome(True, f"params.yaml declares {', '.join(keys)}")


def dvc_stages(inspection: Inspection, stages: list[str]) -> Outcome:
    present = inspection.project.dvc_stages
    missing = [stage for stage in stages if not (present.get(stage) or {}).get("cmd")]
    if missing:
        return Outcome(False, f"dvc.yaml has no stage {', '.join(missing)}")
    return Outcome(True, f"dvc.yaml stages {' -> '.join(stages)}")


def stage_output(inspection: Inspection, stage: str, path: str) -> Outcome:
    outputs = inspection.project.stage_outputs(stage)
    if path not in outputs:
        return Outcome(False, f"dvc.yaml stage {stage} does not output {path}")
    return Outcome(True, f"stage {stage} outputs {path}")


def make_target(inspection: Inspection, target: str, calls: str = "") -> Outcome:
    recipe = inspection.project.make_targets.get(target)
    if recipe is None:
        return Outcome(False, f"Makefile has no target {target}")
    if calls and calls not in recipe:
        return Outcome(False, f"Makefile target {target} does not run `{calls}`")
    return Outcome(True, f"make {target}" + (f" runs `{calls}`" if calls else ""))


def module_mentions(inspection: Inspection, module: str, names: list[str]) -> Outcome:
    text = inspection.project.module_text(module)
    if not text:
        return Outcome(False, f"src/<package>/{module}.py is missing")
    missing = [name for name in names if name not in text]
    if missing:
        return Outcome(False, f"src/<package>/{module}.py does not use {', '.join(missing)}")
    return Outcome(True, f"src/<package>/{module}.py uses {', '.join(names)}")


def tests_mention(inspection: Inspection, names: list[str], what: str) -> Outcome:
    matching = [file for file, text in inspection.project.test_files.items()
                if any(name in text for name in names)]
    if not matching:
        return Outcome(False, f"no test under tests/ covers {what}")
    return Outcome(True, f"{what}: {', '.join(matching)}")


def ci_runs(inspection: Inspection, target: str, trigger: str) -> Outcome:
    if not inspection.project.ci_files:
        return Outcome(False, "no CI file (.github/workflows/*.yml or .gitlab-ci.yml)")
    jobs = [job for job in inspection.jobs if job.runs(target) and trigger in job.triggers]
    if not jobs:
        return Outcome(False, f"no CI job runs `make {target}` on {trigger.replace('_', ' ')}")
    return Outcome(True, f"`make {target}` on {trigger.replace('_', ' ')}: "
                         f"{', '.join(job.name for job in jobs)}")


def ci_approval(inspection: Inspection, target: str, environment: str) -> Outcome:
    jobs = [job for job in inspection.jobs if job.runs(target)
            and environment in (job.environment or "") and (job.manual or MANUAL in job.triggers)]
    if not jobs:
        return Outcome(False, f"no CI job runs `make {target}` in environment {environment} "
                              "behind an approval (GitHub environment / GitLab manual job)")
    return Outcome(True, f"{environment} behind an approval: {', '.join(j.name for j in jobs)}")


def deploy_manifests(inspection: Inspection, environments: list[str]) -> Outcome:
    from mlops_platform.deploy.manifest import DeploymentManifestError, load_deployment

    problems = []
    for environment in environments:
        path = inspection.project.root / "deploy" / f"{environment}.yaml"
        try:
            load_deployment(path)
        except (DeploymentManifestError, OSError, ValueError) as err:
            problems.append(f"deploy/{environment}.yaml: {err}")
    if problems:
        return Outcome(False, "; ".join(problems))
    return Outcome(True, f"deploy/{{{','.join(environments)}}}.yaml valid")


def platform_outputs(inspection: Inspection) -> Outcome:
    from mlops_platform.contract import PlatformOutputsError, read_outputs

    try:
        outputs = read_outputs(inspection.project.root / OUTPUTS_FILE)
    except PlatformOutputsError as err:
        return Outcome(False, str(err))
    return Outcome(True, f"{OUTPUTS_FILE} names tracking server {outputs.tracking_uri}")


def registry_lineage(inspection: Inspection) -> Outcome:
    """Registered versions carry the lineage tags (only when the tracking server answers)."""
    versions, where = inspection.registry_versions
    if versions is None:
        return Outcome(True, f"not verified against the registry: {where}")
    if not versions:
        return Outcome(True, f"no version registered yet at {where}")
    lacking = [v.version for v in versions
               if any(not v.tags.get(tag) for tag in ml_contract.LINEAGE_TAGS)]
    if lacking:
        return Outcome(False, f"{len(lacking)} of {len(versions)} registered versions at {where} "
                              f"lack lineage tags ({', '.join(ml_contract.LINEAGE_TAGS)})")
    return Outcome(True, f"all {len(versions)} registered versions at {where} carry lineage tags")


def registry_champion_gated(inspection: Inspection) -> Outcome:
    """The champion got there through the gate (its audit tags say so)."""
    versions, where = inspection.registry_versions
    if versions is None:
        return Outcome(True, f"not verified against the registry: {where}")
    champions = [v for v in versions if ml_contract.ALIAS_CHAMPION in v.aliases]
    if not champions:
        return Outcome(True, f"no champion yet at {where}")
    champion = champions[0]
    outcome = champion.tags.get(ml_contract.TAG_PROMOTION_OUTCOME)
    if outcome not in GATED_OUTCOMES:
        return Outcome(False, f"champion version {champion.version} at {where} has no promotion "
                              f"by the gate ({ml_contract.TAG_PROMOTION_OUTCOME}={outcome}): "
                              "move the alias back and run `make promote`")
    return Outcome(True, f"champion version {champion.version} was promoted by the gate")


CHECKS: dict[str, Check] = {
    "files": files,
    "params_keys": params_keys,
    "dvc_stages": dvc_stages,
    "stage_output": stage_output,
    "make_target": make_target,
    "module_mentions": module_mentions,
    "tests_mention": tests_mention,
    "ci_runs": ci_runs,
    "ci_approval": ci_approval,
    "deploy_manifests": deploy_manifests,
    "platform_outputs": platform_outputs,
    "registry_lineage": registry_lineage,
    "registry_champion_gated": registry_champion_gated,
}


def run_check(inspection: Inspection, kind: str, arguments: dict[str, Any]) -> Outcome:
    return CHECKS[kind](inspection, **arguments)
