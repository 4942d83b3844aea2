"""The Kubeflow Pipelines form of a project's DVC pipeline (``mlops-kfp``; a project's make kfp).

``mlops-kfp compile`` reads the project's dvc.yaml and params.yaml and writes a KFP v2 pipeline:
one component per DVC stage, named for the stage, whose body runs that stage with
``dvc repro --single-item <stage>`` in the project's checkout (the pipeline parameter
``workspace``; in a cluster, a volume mounted there). So the steps are the project's own code,
and dvc.lock records every stage as ``make pipeline`` would. The stage that writes the metrics
file outputs the primary metric, and the promotion stage runs inside
``dsl.If(metric >= threshold)`` (``<=`` where lower is better), the threshold a pipeline
parameter whose default is params.yaml's. Tasks run one after another in dvc.yaml's dependency
order: they share one checkout, and DVC lets one stage at a time write it. KFP's caching is off
for every task: DVC decides what is up to date.

``mlops-kfp run`` runs the same components with the KFP SDK's local runner, in this
environment. That runner (kfp 2.14) refuses conditions (``'dsl.Condition' is not supported by
local pipeline execution``, kfp/local/dag_orchestrator.py), so the run is the pipeline without
its conditional stages, run as a pipeline by the local runner, then the same condition decided
here on its output, then the conditional stages' components, each run by the local runner.

The output is deterministic (same dvc.yaml, params.yaml and image: same bytes), so CI checks the
committed file with ``make kfp-check``. docs/kfp.md says how to submit it to a Kubeflow.
"""

# No `from __future__ import annotations` here: KFP reads the component functions'
# annotations (str, float) as types, and the pipeline functions' defaults from their signatures.
import argparse
import dataclasses
import json
import sys
import tempfile
import tomllib
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from mlops_platform.argument_parser import OneLineErrorParser
from mlops_platform.contract import PARAM_HIGHER_IS_BETTER, PARAM_PRIMARY_METRIC, PARAM_THRESHOLD

DVC_FILE = "dvc.yaml"
PARAMS_FILE = "params.yaml"
PYPROJECT_FILE = "pyproject.toml"
# Where a project keeps the compiled pipeline (its Makefile's KFP_PIPELINE).
PIPELINE_FILE = "kfp/pipeline.yaml"
# The evaluated metrics: the stage that declares this file under `metrics:` is the one whose
# component outputs the primary metric.
METRICS_FILE = "reports/metrics.json"
# The stage that runs only when the condition holds, with every stage downstream of it.
PROMOTE_STAGE = "promote"
# Where the tasks find the project's checkout in a cluster (a volume mounted there).
DEFAULT_WORKSPACE = "/workspace"


class KfpPipelineError(ValueError):
    """The project cannot be compiled: the message names the file, the key and the fix."""


@dataclasses.dataclass(frozen=True)
class Stage:
    name: str
    deps: tuple[str, ...]
    outs: tuple[str, ...]  # outs, metrics and plots: every path the stage writes
    metrics: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the pipeline is made of, read from the project's files."""

    name: str
    image: str
    stages: tuple[str, ...]  # every stage, in the order the tasks run
    conditional: tuple[str, ...]  # the promotion stage and the stages downstream of it
    metric_stage: str
    metrics_file: str
    primary_metric: str
    threshold: float
    higher_is_better: bool

    @property
    def unconditional(self) -> tuple[str, ...]:
        return tuple(stage for stage in self.stages if stage not in self.conditional)

    def holds(self, metric: Any, threshold: Any) -> Any:
        """The promotion condition: a bool for numbers, a KFP condition for pipeline channels."""
        return metric >= threshold if self.higher_is_better else metric <= threshold


# The components' bodies. KFP ships only a function's own source to the task, so each is
# self-contained (its imports inside) and the few lines that run the stage are in both.
def run_stage(workspace: str, stage: str) -> None:
    """Runs one DVC stage (dvc repro --single-item) in the project checked out at workspace."""
    import os
    import subprocess
    import sys

    # The stage's command (`python -m <package>.<step>`) finds this interpreter and the
    # project's code, as the project's Makefile arranges for `make pipeline`.
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(workspace, "src"), *filter(None, [env.get("PYTHONPATH")])])
    subprocess.run([sys.executable, "-m", "dvc", "repro", "--single-item", stage],
                   cwd=workspace, env=env, check=True)


def run_metric_stage(workspace: str, stage: str, metrics_file: str, metric: str) -> float:
    """Runs the DVC stage that writes metrics_file, then outputs its metric."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(workspace, "src"), *filter(None, [env.get("PYTHONPATH")])])
    subprocess.run([sys.executable, "-m", "dvc", "repro", "--single-item", stage],
                   cwd=workspace, env=env, check=True)
    with open(os.path.join(workspace, metrics_file)) as file:
        metrics = json.load(file)
    if metric not in metrics:
        raise SystemExit(
            f"error: {metrics_file} has no metric {metric!r} (it has "
            f"{', '.join(sorted(metrics)) or 'none'}): set promotion.primary_metric in "
            f"params.yaml to one of them, or make the {stage} stage write {metric!r}")
    return float(metrics[metric])


# --- reading the project -------------------------------------------------------------------

def _paths(entries: Any) -> tuple[str, ...]:
    """dvc.yaml's list of paths, each a string or a one-key mapping {path: options}."""
    paths: list[str] = []
    for entry in entries or ():
        paths.extend([entry] if isinstance(entry, str) else list(entry))
    return tuple(str(PurePosixPath(path)) for path in paths)


def read_stages(project: Path) -> dict[str, Stage]:
    path = project / DVC_FILE
    if not path.is_file():
        raise KfpPipelineError(f"{path} is missing: mlops-kfp compiles a project's DVC "
                               "pipeline; run it in the project's root, or pass --project")
    document = yaml.safe_load(path.read_text()) or {}
    stages = document.get("stages") if isinstance(document, dict) else None
    if not isinstance(stages, dict) or not stages:
        raise KfpPipelineError(f"{path} has no stages: declare the pipeline's stages under "
                               "`stages:`")
    found: dict[str, Stage] = {}
    for name, spec in stages.items():
        if not isinstance(spec, dict) or "cmd" not in spec:
            raise KfpPipelineError(f"{path}: stage {name!r} has no cmd (a `foreach` or "
                                   "`matrix` stage cannot be compiled): give it a cmd")
        metrics = _paths(spec.get("metrics"))
        found[str(name)] = Stage(str(name), _paths(spec.get("deps")),
                                 _paths(spec.get("outs")) + metrics + _paths(spec.get("plots")),
                                 metrics)
    return found


def _overlap(dep: str, out: str) -> bool:
    return dep == out or dep.startswith(f"{out}/") or out.startswith(f"{dep}/")


def upstream(stages: Mapping[str, Stage]) -> dict[str, set[str]]:
    """Stage -> the stages whose outputs it depends on."""
    return {name: {other for other, producer in stages.items() if other != name
                   and any(_overlap(dep, out) for dep in stage.deps for out in producer.outs)}
            for name, stage in stages.items()}


def stage_order(stages: Mapping[str, Stage]) -> list[str]:
    """The stages in dependency order; among stages free to run, dvc.yaml's order."""
    needs = upstream(stages)
    ordered: list[str] = []
    while len(ordered) < len(stages):
        ready = [name for name in stages if name not in ordered and needs[name] <= set(ordered)]
        if not ready:
            circle = sorted(name for name in stages if name not in ordered)
            raise KfpPipelineError(f"{DVC_FILE}: the stages {', '.join(circle)} depend on each "
                                   "other's outputs in a circle: break it")
        ordered.append(ready[0])
    return ordered


def downstream_of(stage: str, stages: Mapping[str, Stage]) -> set[str]:
    needs = upstream(stages)
    found = {stage}
    while grown := {name for name in stages if needs[name] & found} - found:
        found |= grown
    return found


def _param(params: Mapping[str, Any], key: str, fix: str) -> Any:
    value: Any = params
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KfpPipelineError(f"{PARAMS_FILE} has no {key}: {fix}")
        value = value[part]
    return value


def read_params(project: Path) -> tuple[str, float, bool]:
    """The primary metric, the promotion threshold and whether higher is better."""
    path = project / PARAMS_FILE
    if not path.is_file():
        raise KfpPipelineError(f"{path} is missing: the promotion condition reads "
                               f"{PARAM_PRIMARY_METRIC} and {PARAM_THRESHOLD} from it")
    params = yaml.safe_load(path.read_text()) or {}
    metric = _param(params, PARAM_PRIMARY_METRIC,
                    "name the metric the promotion condition compares, e.g. roc_auc")
    threshold = _param(params, PARAM_THRESHOLD,
                       "give the lowest metric a model needs to be promoted, e.g. 0.9")
    higher = params.get("promotion", {}).get(PARAM_HIGHER_IS_BETTER.split(".")[-1], True)
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        raise KfpPipelineError(f"{PARAMS_FILE}: {PARAM_THRESHOLD} is {threshold!r}: give a "
                               "number, e.g. 0.9")
    return str(metric), float(threshold), bool(higher)


def project_name_and_version(project: Path) -> tuple[str, str]:
    path = project / PYPROJECT_FILE
    meta = tomllib.loads(path.read_text()).get("project", {}) if path.is_file() else {}
    if not meta.get("name") or not meta.get("version"):
        raise KfpPipelineError(f"{path} has no [project] name and version, which name the "
                               "pipeline and its image: add them")
    return str(meta["name"]), str(meta["version"])


def check_image(image: str) -> str:
    """An image pinned by a tag other than latest, or by a digest."""
    name, _, tag = image.rpartition("/")[2].partition(":")
    if "@sha256:" not in image and (not tag or tag == "latest" or not name):
        raise KfpPipelineError(f"image {image!r} is not pinned: give a tag other than latest "
                               "(name:1.2.0) or a digest (name@sha256:...)")
    return image


def read_plan(project: Path, image: str | None = None) -> Plan:
    stages = read_stages(project)
    metric_stages = [name for name, stage in stages.items() if METRICS_FILE in stage.metrics]
    if not metric_stages:
        raise KfpPipelineError(
            f"{project / DVC_FILE}: no stage declares {METRICS_FILE} under metrics: (the "
            "evaluated metrics the promotion condition reads): add it to the evaluate stage")
    metric, threshold, higher = read_params(project)
    order = stage_order(stages)
    conditional = downstream_of(PROMOTE_STAGE, stages) if PROMOTE_STAGE in stages else set()
    if metric_stages[0] in conditional:
        raise KfpPipelineError(f"{DVC_FILE}: stage {metric_stages[0]!r} writes {METRICS_FILE} "
                               f"but comes after {PROMOTE_STAGE!r}: promotion needs the metric")
    name, version = project_name_and_version(project)
    return Plan(
        # The default image is the project's own, <name>:<version> (docs/kfp.md builds it).
        name=name, image=check_image(image or f"{name}:{version}"),
        stages=tuple([*(s for s in order if s not in conditional),
                      *(s for s in order if s in conditional)]),
        conditional=tuple(s for s in order if s in conditional),
        metric_stage=metric_stages[0], metrics_file=METRICS_FILE, primary_metric=metric,
        threshold=threshold, higher_is_better=higher)


# --- the KFP pipeline ----------------------------------------------------------------------

def components(plan: Plan) -> dict[str, Any]:
    """Stage -> its component: one per stage, named for it (comp-<stage> in the YAML)."""
    from kfp import dsl
    from kfp.dsl.python_component import PythonComponent

    found: dict[str, Any] = {}
    for stage in plan.stages:
        body = run_metric_stage if stage == plan.metric_stage else run_stage
        # Nothing is pip-installed when a task starts: the image holds the project's lock,
        # kfp included. KFP names a component after its function; the stage's name replaces
        # it (the executor still calls the function by its own name).
        made = dsl.component(body, base_image=plan.image, install_kfp_package=False)
        spec = dataclasses.replace(
            made.component_spec, name=stage,
            description=f"DVC stage {stage}: dvc repro --single-item {stage}")
        found[stage] = PythonComponent(component_spec=spec, python_func=made.python_func)
    return found


def _chain(plan: Plan, stages: Sequence[str], made: Mapping[str, Any], workspace: Any,
           after: Any = None) -> dict[str, Any]:
    """The stages' tasks, each after the one before (the first after `after`)."""
    tasks: dict[str, Any] = {}
    for stage in stages:
        arguments = {"workspace": workspace, "stage": stage}
        if stage == plan.metric_stage:
            arguments |= {"metrics_file": plan.metrics_file, "metric": plan.primary_metric}
        task = made[stage](**arguments)
        task.set_caching_options(False)  # DVC decides what is up to date, not KFP's cache
        if after is not None:
            task.after(after)
        tasks[stage] = after = task
    return tasks


def pipeline_function(plan: Plan) -> Callable[..., Any]:
    from kfp import dsl

    made = components(plan)
    comparison = ">=" if plan.higher_is_better else "<="

    @dsl.pipeline(name=plan.name, description=(
        f"The DVC pipeline of {plan.name} ({' -> '.join(plan.stages)}); "
        f"{', '.join(plan.conditional) or 'nothing'} only when {plan.primary_metric} "
        f"{comparison} threshold. workspace: where the project's checkout is mounted."))
    def pipeline(workspace: str = DEFAULT_WORKSPACE, threshold: float = plan.threshold) -> None:
        tasks = _chain(plan, plan.unconditional, made, workspace)
        if plan.conditional:
            metric = tasks[plan.metric_stage].output
            with dsl.If(plan.holds(metric, threshold),
                        name=f"{plan.primary_metric}-reaches-threshold"):
                _chain(plan, plan.conditional, made, workspace,
                       after=tasks[plan.unconditional[-1]])

    return pipeline


def compile_pipeline(plan: Plan, output: Path) -> Path:
    from kfp import compiler

    output.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline_function(plan), package_path=str(output))
    return output


@dataclasses.dataclass(frozen=True)
class LocalRun:
    metric: float
    threshold: float
    ran: tuple[str, ...]
    skipped: tuple[str, ...]


def run_locally(plan: Plan, project: Path, threshold: float | None = None) -> LocalRun:
    """The pipeline with the KFP SDK's local runner (SubprocessRunner, this environment)."""
    from kfp import dsl, local

    threshold = plan.threshold if threshold is None else threshold
    workspace = str(project.resolve())
    with tempfile.TemporaryDirectory(prefix="kfp-local-") as root, warnings.catch_warnings():
        # The runner warns that the image (the cluster's) is not used: it runs here on purpose.
        warnings.filterwarnings("ignore", message=".*non-Python base image",
                                category=RuntimeWarning)
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root)
        made = components(plan)

        @dsl.pipeline(name=f"{plan.name}-unconditional")
        def unconditional(workspace: str) -> float:
            return _chain(plan, plan.unconditional, made, workspace)[plan.metric_stage].output

        metric = float(unconditional(workspace=workspace).output)
        ran, skipped = list(plan.unconditional), []
        if plan.holds(metric, threshold):
            for stage in plan.conditional:
                made[stage](workspace=workspace, stage=stage)
                ran.append(stage)
        else:
            skipped = list(plan.conditional)
    return LocalRun(metric, threshold, tuple(ran), tuple(skipped))


# --- the command ---------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="mlops-kfp", description=(
        "The project's DVC pipeline as a Kubeflow Pipelines v2 pipeline (docs/kfp.md)."))
    commands = parser.add_subparsers(dest="command", required=True)
    compile_ = commands.add_parser("compile", help="write the compiled pipeline YAML")
    run = commands.add_parser("run", help="run it with the KFP SDK's local runner, here")
    for command in (compile_, run):
        command.add_argument("--project", type=Path, default=Path(),
                             help="the project's root (default: .)")
        command.add_argument("--image", help="the image the steps run in, pinned by a tag or "
                             "a digest (default: <name>:<version> of pyproject.toml)")
    compile_.add_argument("--output", type=Path, default=Path(PIPELINE_FILE),
                          help=f"where to write it (default: {PIPELINE_FILE})")
    run.add_argument("--threshold", type=float, help="the promotion condition's threshold "
                     "(default: promotion.threshold of params.yaml)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plan = read_plan(args.project, args.image)
    except KfpPipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.command == "compile":
        output = compile_pipeline(plan, args.output)
        print(f"wrote {output}: {len(plan.stages)} components ({', '.join(plan.stages)})"
              + (f", {', '.join(plan.conditional)} if {plan.primary_metric} "
                 f"{'>=' if plan.higher_is_better else '<='} {plan.threshold}"
                 if plan.conditional else ""))
        return 0
    try:
        result = run_locally(plan, args.project, args.threshold)
    except RuntimeError as err:  # the local runner's word for a failed task
        print(f"error: the local run failed: {err} (its log is above)", file=sys.stderr)
        return 1
    summary = {"metric": plan.primary_metric, "value": result.metric,
               "threshold": result.threshold, "ran": list(result.ran),
               "skipped": list(result.skipped)}
    print(f"kfp local run: {plan.primary_metric} {result.metric:.4f}, threshold "
          f"{result.threshold}: " + (f"{', '.join(result.skipped)} skipped (condition false)"
                                     if result.skipped else "every stage ran"))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
