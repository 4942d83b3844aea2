"""The kinds of evidence a control can ask for, one function per kind.

A control in the catalogue names a kind and its arguments; each function here returns
an Outcome: passed with the evidence (what was run or read, and what it showed),
failed with what is missing (and the file to change), or not verified (the evidence
could not be produced: the registry was not consulted, a probe could not run). Not
verified never counts as passed. Mentions are not evidence: tests are run, steps are
run on good and corrupted data, make targets are dry-run, CI files are read as YAML.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mlops_platform import contract as ml_contract
from mlops_platform import explanations
from mlops_platform.client.platform_rules import platform_rules
from mlops_platform.client.project import OUTPUTS_FILE, Project, read_yaml
from mlops_platform.client.tracking import TrackingServerError, target_for, unreachable_reason
from mlops_platform.governance import probe_cache, probes
from mlops_platform.governance.audit_log import PROMOTED, UNCHANGED
from mlops_platform.governance.ci_config import MANUAL, CiJob, ci_jobs
from mlops_platform.governance.evaluation import load_version, measure, test_split
from mlops_platform.governance.shell_commands import effective_calls

PASSED, FAILED, NOT_VERIFIED = "passed", "failed", "not_verified"
RUN_FILE = "models/run.json"
# How closely an explanation must add up to the model's own score (float arithmetic).
EXPLANATION_TOLERANCE = 1e-6
CONTRACT_FILE = "data_contract.yaml"


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str  # the evidence when passed; what is missing or unverified otherwise

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def passed(evidence: str) -> Outcome:
    return Outcome(PASSED, evidence)


def failed(reason: str) -> Outcome:
    return Outcome(FAILED, reason)


def not_verified(reason: str) -> Outcome:
    return Outcome(NOT_VERIFIED, f"not verified: {reason}")


@dataclass(frozen=True)
class RegisteredVersion:
    version: str
    tags: dict[str, str]
    aliases: tuple[str, ...]
    run_id: str = ""


# What a probe's outcome depends on, for the cache: the test probes read the whole project,
# the step probes everything but tests/.
READS_TESTS, READS_STEPS = "tests", "steps"


@dataclass
class Inspection:
    """A project plus what is derived from it, shared by every check of one run.

    Probes run project code in temporary working copies, made on first use and removed by
    close(): the steps share one copy (each builds on the last: prepare writes the data
    validate reads), each thread running tests has its own (a mutant is written into it and
    restored). Each probe runs once per inspection, whichever thread asks first; the others
    wait for its outcome. With a `cache`, an outcome computed by an earlier inspection of the
    same content is reused (probe_cache says what the key covers).
    """

    project: Project
    use_tracking: bool = True
    run_probes: bool = True
    cache: probe_cache.ProbeCache | None = None
    reused: list[Any] = field(default_factory=list)  # probe keys answered by the cache
    ran_in_copy: set[str] = field(default_factory=set)  # stages whose outputs the copy holds
    _workspace: tempfile.TemporaryDirectory | None = field(default=None, repr=False)
    _copies: dict[str, Path] = field(default_factory=dict, repr=False)
    _probed: dict[Any, Future] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __enter__(self) -> Inspection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.cleanup()
            self._workspace = None
            self._copies.clear()

    @property
    def root(self) -> Path:
        return self.project.root

    @cached_property
    def python(self) -> str:
        return probes.project_python(self.root)

    def _working_copy(self, name: str) -> Path:
        with self._lock:
            if name not in self._copies:
                if self._workspace is None:
                    self._workspace = tempfile.TemporaryDirectory(prefix="mlops-check-")
                into = Path(self._workspace.name) / name
                into.mkdir()
                self._copies[name] = probes.working_copy(self.root, into)
            return self._copies[name]

    @property
    def copy(self) -> Path:
        """The working copy the pipeline steps run in."""
        return self._working_copy("steps")

    @property
    def test_copy(self) -> Path:
        """This thread's working copy for test runs (a mutant is written in and restored)."""
        return self._working_copy(f"tests-{threading.get_ident()}")

    def probe(self, key: Any, run: Callable[[], Outcome], reads: str = "") -> Outcome:
        """The outcome of a probe, run once per inspection (never when probes are off);
        `reads` (READS_TESTS or READS_STEPS) makes it cacheable."""
        if not self.run_probes:
            return not_verified("probes not run (run_probes=False)")
        with self._lock:
            future = self._probed.get(key)
            owner = future is None
            if owner:
                future = self._probed[key] = Future()
        if owner:
            try:
                future.set_result(self._cached(key, run, reads))
            except BaseException as err:
                future.set_exception(err)
        return future.result()

    def _cached(self, key: Any, run: Callable[[], Outcome], reads: str) -> Outcome:
        if self.cache is None or not reads:
            return run()
        cache_key = probe_cache.probe_key(key, self._digests[reads], self._digests["code"])
        stored = self.cache.load(cache_key)
        if stored and stored.get("status") in (PASSED, FAILED):
            self.reused.append(key)
            return Outcome(stored["status"], str(stored.get("reason", "")))
        outcome = run()
        if outcome.status in (PASSED, FAILED):  # not verified may be transient: ask again
            self.cache.store(cache_key, {"status": outcome.status, "reason": outcome.reason})
        return outcome

    @cached_property
    def _digests(self) -> dict[str, str]:
        return {READS_TESTS: probe_cache.project_digest(self.root, with_tests=True),
                READS_STEPS: probe_cache.project_digest(self.root, with_tests=False),
                "code": probe_cache.environment_digest(self.python)
                + probe_cache.checker_digest()}

    @cached_property
    def jobs(self) -> list[CiJob]:
        return ci_jobs(self.project.ci_files)

    @cached_property
    def dvc_status(self) -> tuple[dict[str, Any] | None, str]:
        return probes.dvc_status(self.root)

    @cached_property
    def registry_target(self) -> tuple[Any, str]:
        """The project's tracking target once it answers, or None and why not."""
        if not self.use_tracking:
            return None, "tracking server not consulted (--offline)"
        try:
            target = target_for(self.root)
        except TrackingServerError as err:
            return None, str(err)
        reason = unreachable_reason(target.tracking_uri, timeout=2.0)
        if reason:
            return None, f"tracking server {target.tracking_uri} unreachable ({reason})"
        return target, target.tracking_uri

    @cached_property
    def registry_versions(self) -> tuple[list[RegisteredVersion] | None, str]:
        """The registered versions of the project's model, or None and why not."""
        target, where = self.registry_target
        if target is None:
            return None, where
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
                                  tuple(a for a, n in aliases.items() if str(n) == str(v.version)),
                                  str(v.run_id or ""))
                for v in versions], target.tracking_uri


Check = Callable[..., Outcome]
GATED_OUTCOMES = (PROMOTED, UNCHANGED)


def files(inspection: Inspection, paths: list[str]) -> Outcome:
    missing = [path for path in paths if not inspection.project.exists(path)]
    if missing:
        return failed(f"missing {', '.join(missing)}")
    return passed(f"read: {', '.join(paths)} present")


def params_keys(inspection: Inspection, keys: list[str]) -> Outcome:
    missing = [key for key in keys if inspection.project.param(key) is None]
    if missing:
        return failed(f"params.yaml lacks {', '.join(missing)}")
    return passed(f"read params.yaml (schema-validated): declares {', '.join(keys)}")


def dvc_stages(inspection: Inspection, stages: list[str]) -> Outcome:
    present = inspection.project.dvc_stages
    missing = [stage for stage in stages if not (present.get(stage) or {}).get("cmd")]
    if missing:
        return failed(f"dvc.yaml has no stage {', '.join(missing)}")
    return passed(f"read dvc.yaml: stages {' -> '.join(stages)}")


def stage_output(inspection: Inspection, stage: str, path: str) -> Outcome:
    outputs = inspection.project.stage_outputs(stage)
    if path not in outputs:
        return failed(f"dvc.yaml stage {stage} does not output {path}")
    return passed(f"read dvc.yaml: stage {stage} outputs {path}")


def make_target(inspection: Inspection, target: str, calls: str = "") -> Outcome:
    """The target's recipe, as `make -n` expands it, really runs `calls` (not echo, not
    `|| true`); with no `calls`, runs anything but a no-op."""
    if target not in inspection.project.make_targets:
        return failed(f"Makefile has no target {target}")
    code, lines = probes.dry_run(inspection.root, target)
    if code != 0:
        return failed(f"`make -n {target}` exits {code}")
    found = probes.real_calls(lines, calls)
    wanted = f"`{calls}`" if calls else "a real command"
    if not found:
        return failed(f"`make -n {target}` runs no {wanted} that can fail "
                      f"(it runs: {'; '.join(lines) or 'nothing'})")
    return passed(f"`make -n {target}` runs {wanted}: {found[0]}")


def module_code(inspection: Inspection, module: str, names: list[str]) -> Outcome:
    """The module's code (parsed, not its comments) uses or defines the names."""
    text = inspection.project.module_text(module)
    where = f"src/<package>/{module}.py"
    if not text:
        return failed(f"{where} is missing")
    try:
        used, defined = probes.defined_names(text)
    except SyntaxError as err:
        return failed(f"{where} does not parse: {err}")
    missing = [name for name in names if not (
        name.removeprefix("def ") in defined if name.startswith("def ") else name in used)]
    if missing:
        return failed(f"the code of {where} (parsed; comments and imports do not count) "
                      f"does not use {', '.join(missing)}")
    return passed(f"parsed {where}: its code uses {', '.join(names)}")


def test_run(inspection: Inspection) -> Outcome:
    """The project's test suite, run by the checker: at least one test passes, none fails."""
    def run() -> Outcome:
        if not inspection.project.test_files:
            return failed("no test under tests/ (tests/test_*.py)")
        result = probes.run_tests(inspection.test_copy, inspection.python)
        if not result.green:
            return failed(f"ran the project's tests (pytest, JUnit XML): {result.summary()}; "
                          f"{result.tail}")
        return passed(f"ran the project's tests (pytest, JUnit XML): {result.summary()}")
    return inspection.probe("tests", run, READS_TESTS)


def mutant_killed(inspection: Inspection, guard: str) -> Outcome:
    """With `module.function` broken (it returns None), the tests must fail. The function is
    broken in memory (``mutation_plugin``), never in its file: a test that reads the sources
    (pins their hashes, say) cannot tell."""
    def run() -> Outcome:
        module, function = guard.rsplit(".", 1)
        package = inspection.project.package_dir
        copy = inspection.test_copy
        path = copy / "src" / package.name / f"{module}.py" if package else None
        source = path.read_text() if path and path.is_file() else ""
        if not probes.defines_function(source, function):
            return failed(f"src/<package>/{module}.py defines no function {function}")
        mentioning = [file for file, text in inspection.project.test_files.items()
                      if function in text]
        result = probes.run_tests_with_mutant(copy, inspection.python,
                                              f"{package.name}.{module}", function,
                                              "-x", *mentioning)
        if result.failed == 0 and result.returncode in (0, 5):
            return failed(f"the tests still pass with {guard} broken (in memory, returning "
                          f"None): they assert nothing about it ({result.summary()})")
        return passed(f"with {guard} broken, the tests fail ({result.summary()})")
    return inspection.probe(("mutant", guard), run, READS_TESTS)


def tests_guard(inspection: Inspection, guards: list[str], what: str) -> Outcome:
    """The suite passes, and breaking each guarded function makes it fail."""
    outcomes = [test_run(inspection)]
    if outcomes[0].passed:
        outcomes += [mutant_killed(inspection, guard) for guard in guards]
    return combined(outcomes, f"tests of {what}")


def combined(outcomes: list[Outcome], what: str) -> Outcome:
    for status in (FAILED, NOT_VERIFIED):
        if any(o.status == status for o in outcomes):
            return Outcome(status, f"{what}: " + "; ".join(o.reason for o in outcomes
                                                          if o.status == status))
    return passed(f"{what}: " + "; ".join(o.reason for o in outcomes))


def stage_module(inspection: Inspection, stage: str) -> str | None:
    """The module `python -m <module>` the stage's command runs."""
    command = str((inspection.project.dvc_stages.get(stage) or {}).get("cmd") or "")
    for words in effective_calls(command):
        if "." in words[0]:
            return words[0]
    return None


def run_stage(inspection: Inspection, stage: str) -> Outcome:
    """The stage's step, run in the working copy, exits 0 and writes its outputs."""
    return inspection.probe(("stage", stage), lambda: execute_stage(inspection, stage),
                            READS_STEPS)


def stage_in_copy(inspection: Inspection, stage: str) -> Outcome:
    """run_stage, and the step's outputs are in the working copy for the probes that read
    them (an outcome from the cache ran nothing there)."""
    outcome = run_stage(inspection, stage)
    if outcome.passed and stage not in inspection.ran_in_copy:
        return execute_stage(inspection, stage)
    return outcome


def execute_stage(inspection: Inspection, stage: str) -> Outcome:
    """Run the stage's step in the working copy (no cache): it exits 0 and writes its
    outputs."""
    module = stage_module(inspection, stage)
    outputs = inspection.project.stage_outputs(stage)
    if module is None or not outputs:
        return failed(f"dvc.yaml stage {stage} runs no `python -m <module>` with outputs")
    for output in outputs:
        target = inspection.copy / output
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    result = probes.run_step(inspection.copy, inspection.python, module)
    missing = [output for output in outputs if not present(inspection.copy / output)]
    if result.returncode != 0:
        return failed(f"ran `python -m {module}` (stage {stage}) in a copy: exit "
                      f"{result.returncode}: {result.stderr.strip()[-300:]}")
    if missing:
        return failed(f"ran `python -m {module}` (stage {stage}) in a copy: exit 0 but "
                      f"it wrote none of {', '.join(missing)}: the step does nothing")
    inspection.ran_in_copy.add(stage)
    return passed(f"ran `python -m {module}` in a copy: exit 0, wrote {', '.join(outputs)}")


def present(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def validation_refuses(inspection: Inspection) -> Outcome:
    """The validate step passes the prepared data and refuses it corrupted."""
    def run() -> Outcome:
        clean = [stage_in_copy(inspection, "prepare"), run_stage(inspection, "validate")]
        if not all(o.passed for o in clean):
            return combined(clean, "validation on the prepared data")
        contract, problem = read_yaml(inspection.copy / CONTRACT_FILE)
        breaks = probes.corruptions(contract) if isinstance(contract, dict) else []
        if not breaks:
            return failed(problem or f"{CONTRACT_FILE} declares no column a probe can break")
        return combined([refuses(inspection, *broken) for broken in breaks],
                        "validate fed corrupted data")
    return inspection.probe("validation", run, READS_STEPS)


def refuses(inspection: Inspection, what: str, column: str, value: str) -> Outcome:
    prepared = [inspection.copy / out for out in inspection.project.stage_outputs("prepare")]
    tables = [path for out in prepared for path in sorted(out.rglob("*.csv"))]
    originals = {path: path.read_text() for path in tables}
    try:
        if not any([probes.corrupt_csv(path, column, value) for path in tables]):
            return failed(f"the prepared data has no column {column} to corrupt")
        result = probes.run_step(inspection.copy, inspection.python,
                                 stage_module(inspection, "validate") or "")
    finally:
        for path, text in originals.items():
            path.write_text(text)
    if result.returncode == 0:
        return failed(f"accepted {what} in column {column} (exit 0): validation checks nothing")
    if "Traceback (most recent call last)" in result.stderr:  # a crash is no refusal
        return failed(f"crashed on {what} in column {column} instead of refusing them: "
                      f"{result.stderr.strip().splitlines()[-1]}")
    return passed(f"refused {what} in column {column} (exit {result.returncode}): "
                  f"{result.stderr.strip()[-200:]}")


def stages_current(inspection: Inspection, stages: list[str]) -> Outcome:
    """`dvc status`: the stages' outputs are those of the current code, data and params."""
    def run() -> Outcome:
        status, where = inspection.dvc_status
        if status is None:
            return not_verified(where)
        stale = [stage for stage in stages if stage in status or f"dvc.yaml:{stage}" in status]
        if stale:
            return failed(f"`dvc status`: the outputs of {', '.join(stale)} are not those of "
                          "the current code, data or params (run `make pipeline`)")
        return passed(f"`dvc status`: {', '.join(stages)} up to date with the current code")
    return inspection.probe(("dvc status", tuple(stages)), run)


def recorded_run(inspection: Inspection) -> tuple[Any, Outcome | None]:
    """The run the pipeline recorded (models/run.json), as the tracking server has it; or
    None and the outcome that says why not."""
    target, where = inspection.registry_target
    if target is None:
        return None, not_verified(where)
    record, problem = read_yaml(inspection.root / RUN_FILE)
    run_id = record.get("run_id") if isinstance(record, dict) else None
    if not run_id:
        return None, failed(problem or f"{RUN_FILE} names no run: run `make pipeline`")
    from mlflow.exceptions import MlflowException

    try:
        return target.client().get_run(run_id), None
    except MlflowException as err:
        return None, failed(f"run {run_id} ({RUN_FILE}) is not on {where}: {err.message}")


def tracked_run(inspection: Inspection) -> Outcome:
    """The run the pipeline recorded exists on the tracking server with params, metrics and
    a registered model version."""
    run, problem = recorded_run(inspection)
    if run is None:
        return problem
    run_id, where = run.info.run_id, inspection.registry_target[1]
    params, metrics = run.data.params, run.data.metrics
    versions, _ = inspection.registry_versions
    registered = [v.version for v in versions or [] if v.run_id == run_id]
    if not params or not metrics or not registered:
        return failed(f"run {run_id} at {where} has {len(params)} params, {len(metrics)} "
                      f"metrics, {len(registered)} registered versions: each must be > 0")
    return passed(f"run {run_id} at {where}: {len(params)} params, {len(metrics)} metrics, "
                  f"registered as version {registered[0]}")


def tuned_run(inspection: Inspection, record: str) -> Outcome:
    """The tune stage's record searched at least two candidates, and the run the pipeline
    registered was trained with its best (the run's params, on the tracking server)."""
    tuning, problem = read_yaml(inspection.root / record)
    candidates = tuning.get("candidates") if isinstance(tuning, dict) else None
    best = tuning.get("best") if isinstance(tuning, dict) else None
    if not isinstance(candidates, list) or not isinstance(best, dict) or not best:
        return failed(problem or f"{record} records no candidates and best hyperparameters")
    if len(candidates) < 2:
        return failed(f"{record}: the search tried {len(candidates)} candidate: nothing was "
                      "tuned (give tune.grid at least two values)")
    run, unavailable = recorded_run(inspection)
    if run is None:
        return unavailable
    logged = run.data.params
    differ = [name for name, value in best.items()
              if not same_number(logged.get(f"train.{name}"), value)]
    if differ:
        shown = ", ".join(f"train.{name}={logged.get('train.' + name)}, best {best[name]}"
                          for name in differ)
        return failed(f"run {run.info.run_id} was not trained with the tuned best of {record} "
                      f"({shown})")
    return passed(f"{record}: best of {len(candidates)} candidates by cross-validated "
                  f"{tuning.get('metric')} is {best}; run {run.info.run_id} at "
                  f"{inspection.registry_target[1]} was trained with it")


def same_number(logged: Any, value: Any) -> bool:
    try:
        return float(logged) == float(value)
    except (TypeError, ValueError):
        return False


def registered_version(inspection: Inspection) -> tuple[str, str, str, Any] | Outcome:
    """(version, registry, target column, test split) of the recorded run's registered
    version, the split as the gate reads it (a string saying why it cannot be read); or the
    outcome saying why there is no such version."""
    run, unavailable = recorded_run(inspection)
    if run is None:
        return unavailable
    versions, where = inspection.registry_versions
    version = next((v.version for v in versions or [] if v.run_id == run.info.run_id), None)
    if version is None:
        return failed(f"run {run.info.run_id} ({RUN_FILE}) has no registered version at {where}")
    evaluation = platform_rules().evaluation
    target = inspection.project.param(evaluation["target_param"]) or evaluation["default_target"]
    return version, where, target, test_split(inspection.root, evaluation, target)


def baseline_beaten(inspection: Inspection, train_file: str) -> Outcome:
    """The checker's own measurement: the registered version of the recorded run, scored on
    the test split as the gate scores it, beats a trivial model that guesses by the training
    split's class frequencies, scored on the same split. Run metrics are not read."""
    found = registered_version(inspection)
    if isinstance(found, Outcome):
        return found
    version, where, target, split = found
    evaluation = platform_rules().evaluation
    metric = inspection.project.param(ml_contract.PARAM_PRIMARY_METRIC)
    name = inspection.project.param(ml_contract.PARAM_MODEL_NAME)
    measured = measure(inspection.registry_target[0].client(), name, version, metric, split)
    if measured.value is None:
        return failed(measured.problem)
    baseline = probes.trivial_baseline(inspection.root / train_file, target, split, metric,
                                       inspection.project.param("data.seed") or 0)
    if isinstance(baseline, str):
        return failed(baseline)
    higher = inspection.project.param(ml_contract.PARAM_HIGHER_IS_BETTER) is not False
    if not (measured.value > baseline if higher else measured.value < baseline):
        return failed(f"version {version} scores {metric} {measured.value:.4f} on "
                      f"{evaluation['test_file']}: it does not beat a trivial model's "
                      f"{baseline:.4f} (guesses by class frequency)")
    return passed(f"measured version {version} (registry at {where}) on "
                  f"{evaluation['test_file']}: {metric} {measured.value:.4f} beats the trivial "
                  f"baseline's {baseline:.4f} (guesses by {train_file}'s class frequencies)")


def run_metrics(inspection: Inspection, prefix: str, what: str) -> Outcome:
    """The registered run logged metrics named `prefix`* (e.g. one per data slice)."""
    run, unavailable = recorded_run(inspection)
    if run is None:
        return unavailable
    found = {name: value for name, value in sorted(run.data.metrics.items())
             if name.startswith(prefix)}
    if not found:
        return failed(f"run {run.info.run_id} logged nothing for {what} (no metric {prefix}*)")
    shown = ", ".join(f"{name}={value:.3f}" for name, value in found.items())
    return passed(f"run {run.info.run_id} at {inspection.registry_target[1]} logged {what}: "
                  f"{shown}")


def feature_skew(inspection: Inspection, limit: float) -> Outcome:
    """The recorded run logged its training/serving skew (the share of sampled online feature
    values that differ from the offline store's), and it is at most `limit`."""
    run, unavailable = recorded_run(inspection)
    if run is None:
        return unavailable
    share = run.data.metrics.get(ml_contract.METRIC_FEATURE_SKEW)
    if share is None:
        return failed(f"run {run.info.run_id} logged no training/serving skew "
                      f"({ml_contract.METRIC_FEATURE_SKEW}): only a project baked with "
                      "feature_store=feast checks it")
    if share > limit:
        return failed(f"run {run.info.run_id}: {share:.4f} of the sampled online feature "
                      f"values differ from the offline store's (at most {limit}): "
                      "materialise again (make pipeline) and find what changed the values")
    return passed(f"run {run.info.run_id} at {inspection.registry_target[1]} compared the "
                  f"online and offline feature values of sampled keys: a share of {share:g} "
                  f"differ (at most {limit:g})")


def explained_prediction(inspection: Inspection) -> Outcome:
    """The checker's own step-by-step look at one prediction: the registered version of the
    recorded run, loaded, explains the first test row (mlops_platform.explanations, as the
    served model's /explain does), and its base value plus each feature's contribution is the
    score the model itself computes for that row."""
    found = registered_version(inspection)
    if isinstance(found, Outcome):
        return found
    version, _, _, split = found
    if isinstance(split, str):
        return failed(split)
    name = inspection.project.param(ml_contract.PARAM_MODEL_NAME)
    model = load_version(inspection.registry_target[0].client(), name, version)
    if isinstance(model, str):
        return failed(model)
    return explanation_outcome(model, split[0].head(1), version)


def explanation_outcome(model: Any, row: Any, version: str) -> Outcome:
    try:
        [found] = explanations.explain(model, row)
        score = float(model.decision_function(row).reshape(-1)[0])
    except (explanations.ExplanationError, AttributeError, ValueError) as err:
        return failed(f"version {version} cannot explain a prediction: {err}")
    gap = explanations.additivity_gap(found)
    if gap > EXPLANATION_TOLERANCE or abs(found["value"] - score) > EXPLANATION_TOLERANCE:
        return failed(f"version {version}'s explanation of one row does not add up to its "
                      f"score {score:.6f} (value {found['value']:.6f}, gap {gap:.1e})")
    top = found["contributions"][0]
    return passed(f"version {version} explained one test row step by step: base value "
                  f"{found['base_value']:.4f} + the contributions of its features (largest: "
                  f"{top['feature']} {top['contribution']:+.4f}) = its score {score:.4f}, "
                  f"to {gap:.0e}")


def serving_contract_refuses(inspection: Inspection) -> Outcome:
    """The model server's door (mlops_platform.data_contract_rules, which checks every served
    request against the project's data_contract.yaml) lets the project's own test split
    through and refuses it corrupted."""
    def run() -> Outcome:
        prepared = stage_in_copy(inspection, "prepare")
        if not prepared.passed:
            return combined([prepared], "the serving door on the prepared data")
        contract, problem = read_yaml(inspection.copy / CONTRACT_FILE)
        if not isinstance(contract, dict):
            return failed(problem or f"{CONTRACT_FILE} is not a mapping")
        tables = [path for out in inspection.project.stage_outputs("prepare")
                  for path in sorted((inspection.copy / out).rglob("*.csv"))]
        try:
            return door_outcome(contract, tables)
        except ValueError as err:  # data_contract_rules.ContractFileError: a broken contract
            return failed(f"the model server cannot use {CONTRACT_FILE}: {err}")
    return inspection.probe("serving door", run, READS_STEPS)


def door_outcome(contract: dict[str, Any], tables: list[Path]) -> Outcome:
    if not tables:
        return failed("the prepare stage wrote no CSV table to send through the door")
    for table in tables:
        found = probes.door_violations(contract, table)
        if found:
            return failed(f"the door refuses the project's own {table.name}: {found[0]}")
    breaks = probes.corruptions(contract)
    if not breaks:
        return failed(f"{CONTRACT_FILE} declares no column a probe can break")
    outcomes = []
    for what, column, value in breaks:
        found = probes.door_violations(contract, tables[-1], (column, value))
        outcomes.append(passed(f"refused {what} in column {column}: {found[0]}") if any(
            column in line for line in found) else failed(
            f"let {what} in column {column} through: the door checks nothing there"))
    names = ", ".join(table.name for table in tables)
    return combined(outcomes, f"the model server's door (it lets {names} through)")


def ci_runs(inspection: Inspection, target: str, trigger: str) -> Outcome:
    if not inspection.project.ci_files:
        return failed("no CI file (.github/workflows/*.yml or .gitlab-ci.yml)")
    jobs = [job for job in inspection.jobs if job.runs(target) and trigger in job.triggers]
    if not jobs:
        return failed(f"no CI job that runs and can fail runs `make {target}` on "
                      f"{trigger.replace('_', ' ')}")
    return passed(f"read {jobs[0].file} (YAML): `make {target}` on {trigger.replace('_', ' ')} "
                  f"in {', '.join(job.name for job in jobs)}")


def ci_approval(inspection: Inspection, target: str, environment: str) -> Outcome:
    """The job that deploys `environment` waits for an approval (its protected environment)."""
    jobs = [job for job in inspection.jobs if job.deploys_to(environment)
            and environment == (job.environment or "") and (job.manual or MANUAL in job.triggers)]
    if not jobs:
        return failed(f"no CI job that runs `make {target} ENV={environment}` is in environment "
                      f"{environment} behind an approval (GitHub environment / GitLab manual job)")
    return passed(f"read {jobs[0].file} (YAML): {', '.join(j.name for j in jobs)} deploys "
                  f"{environment} in environment {environment} (approval)")


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
        return failed("; ".join(problems))
    return passed(f"loaded deploy/{{{','.join(environments)}}}.yaml: valid manifests")


def platform_outputs(inspection: Inspection) -> Outcome:
    from mlops_platform.contract import PlatformOutputsError, read_outputs

    try:
        outputs = read_outputs(inspection.project.root / OUTPUTS_FILE)
    except PlatformOutputsError as err:
        return failed(str(err))
    return passed(f"read {OUTPUTS_FILE}: tracking server {outputs.tracking_uri}")


def registry_lineage(inspection: Inspection) -> Outcome:
    """Registered versions carry the lineage tags (only the registry can say)."""
    versions, where = inspection.registry_versions
    if versions is None:
        return not_verified(where)
    if not versions:
        return not_verified(f"no version registered yet at {where}")
    lacking = [v.version for v in versions
               if any(not v.tags.get(tag) for tag in ml_contract.LINEAGE_TAGS)]
    if lacking:
        return failed(f"{len(lacking)} of {len(versions)} registered versions at {where} "
                      f"lack lineage tags ({', '.join(ml_contract.LINEAGE_TAGS)})")
    return passed(f"all {len(versions)} registered versions at {where} carry lineage tags")


def registry_champion_gated(inspection: Inspection) -> Outcome:
    """The champion got there through the gate (its audit tags say so)."""
    versions, where = inspection.registry_versions
    if versions is None:
        return not_verified(where)
    champions = [v for v in versions if ml_contract.ALIAS_CHAMPION in v.aliases]
    if not champions:
        return passed(f"registry at {where}: no champion, so none set around the gate")
    champion = champions[0]
    outcome = champion.tags.get(ml_contract.TAG_PROMOTION_OUTCOME)
    if outcome not in GATED_OUTCOMES:
        return failed(f"champion version {champion.version} at {where} has no promotion "
                      f"by the gate ({ml_contract.TAG_PROMOTION_OUTCOME}={outcome}): "
                      "move the alias back and run `make promote`")
    unchanged = champion_files_unchanged(inspection, champion.version,
                                         champion.tags.get(ml_contract.TAG_MODEL_DIGEST))
    if not unchanged.passed:
        return unchanged
    return passed(f"champion version {champion.version} was promoted by the gate "
                  f"(registry at {where}); {unchanged.reason}")


def champion_files_unchanged(inspection: Inspection, version: str,
                             recorded: str | None) -> Outcome:
    """The champion's files, downloaded and hashed again, are those the gate promoted."""
    from mlflow.exceptions import MlflowException

    from mlops_platform.model_digest import version_digest

    if recorded is None:
        return failed(f"champion version {version} has no {ml_contract.TAG_MODEL_DIGEST} tag: "
                      "the gate did not record its files; promote it again with `make promote`")
    target, _ = inspection.registry_target
    name = inspection.project.param(ml_contract.PARAM_MODEL_NAME)
    try:
        found = version_digest(name, version, target.tracking_uri, target.registry_uri).value
    except (MlflowException, OSError) as error:
        return not_verified(f"champion version {version}'s files could not be downloaded: "
                            f"{error}")
    if found != recorded:
        return failed(f"champion version {version}'s files ({found}) are not the ones the gate "
                      f"promoted ({recorded}): they changed after promotion")
    return passed(f"its files, hashed again, are the ones the gate promoted ({recorded})")


CHECKS: dict[str, Check] = {
    "files": files,
    "params_keys": params_keys,
    "dvc_stages": dvc_stages,
    "stage_output": stage_output,
    "make_target": make_target,
    "module_code": module_code,
    "tests_guard": tests_guard,
    "run_stage": run_stage,
    "validation_refuses": validation_refuses,
    "stages_current": stages_current,
    "tracked_run": tracked_run,
    "ci_runs": ci_runs,
    "ci_approval": ci_approval,
    "deploy_manifests": deploy_manifests,
    "platform_outputs": platform_outputs,
    "registry_lineage": registry_lineage,
    "registry_champion_gated": registry_champion_gated,
    "tuned_run": tuned_run,
    "baseline_beaten": baseline_beaten,
    "run_metrics": run_metrics,
    "serving_contract_refuses": serving_contract_refuses,
    "explained_prediction": explained_prediction,
    "feature_skew": feature_skew,
}


def run_check(inspection: Inspection, kind: str, arguments: dict[str, Any]) -> Outcome:
    return CHECKS[kind](inspection, **arguments)


# The evidence that runs the project's steps in the shared working copy, in an order where
# each finds there what it builds on.
STEP_KINDS = ("run_stage", "validation_refuses", "serving_contract_refuses")


def probe_tasks(inspection: Inspection,
                evidence: Iterable[tuple[str, dict[str, Any]]]) -> list[Callable[[], Any]]:
    """Independent pieces of the slow evidence, to run side by side before the controls
    read them: `dvc status` and the registry's versions (never cached, so slow on every
    check), the test suite, the steps one after the other (they share a working copy) and
    each mutant (its own working copy per thread; run before the suite is known green,
    since only a green suite's mutants are read)."""
    evidence = list(evidence)
    guards = dict.fromkeys(guard for kind, args in evidence if kind == "tests_guard"
                           for guard in args["guards"])
    steps = [(kind, args) for kind, args in evidence if kind in STEP_KINDS]
    return [lambda: inspection.dvc_status, lambda: inspection.registry_versions,
            lambda: test_run(inspection),
            lambda: [run_check(inspection, kind, args) for kind, args in steps],
            *[lambda guard=guard: mutant_killed(inspection, guard) for guard in guards]]
