"""`make demo`: the whole loop of a level-2 project on the embedded local platform, in one go.

Bake a project, start the platform, run its pipeline, promote through the gate (with the
approval level 2 needs), serve the champion, send predictions; then the world shifts: a
shifted segment is served and its outcomes come back as labels, the drift and performance
checks say so, retraining learns from the labelled rows, and the gate promotes the new version
because it wins on the most recent labelled window. Print what happened. Every step calls the
project's own make targets or the platform's own API; this module only sequences them, times
them and always stops what it started.

``python -m mlops_platform.demo.run [--output-dir build/demo]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from cookiecutter.main import cookiecutter
from rich.console import Console

from mlops_platform import ab_test
from mlops_platform import contract as ml_contract
from mlops_platform.client.platform_rules import platform_rules
from mlops_platform.client.project import Project
from mlops_platform.contract import LOCAL_ENVIRONMENT, PlatformOutputs
from mlops_platform.demo.summary import DemoSummary, champion_of, print_summary, registry_versions
from mlops_platform.demo.traffic import (
    SHIFT_FACTOR,
    TrafficError,
    TrafficResult,
    feature_rows,
    send_rows,
    shifted,
)
from mlops_platform.local_platform import platform, state
from mlops_platform.local_platform.settings import LocalPlatformSettings
from mlops_platform.performance import window_seconds
from mlops_platform.processes import ServerStartError
from mlops_platform.progress import CommandTimeoutError, StepProgress, run_streamed
from mlops_platform.serving import (
    ServingError,
    ServingHandle,
    ServingSettings,
    start_serving,
)

# `make demo` runs from the platform repository: the template it bakes is the checkout.
REPO_ROOT = Path.cwd()
DEFAULT_OUTPUT_DIR = REPO_ROOT / "build" / "demo"
MATURITY_LEVEL = "2"
# Shifted rows lose accuracy (the model's threshold no longer fits them) while roc_auc, the
# template's default, barely moves: scaled features keep the same ranking.
PRIMARY_METRIC = "accuracy"
APPROVER = "demo-release-manager"
MONITORING_DIR = Path("monitoring")  # the project's folder for the serving log and drift
REPORTS_PREFIX = "reports:"  # how mlops-drift names its report files
DRIFT_VERDICTS = ("DRIFT: ", "no drift: ")  # how mlops-drift starts its verdict line
MAKE_RECIPE_FAILED = 2
SHIFTED_BATCH_SIZE = 25
PERFORMANCE_VERDICTS = ("DEGRADED: ", "healthy: ")  # how mlops-performance starts its verdict
LABELLED_LINEAGE = Path("data") / "labelled" / "served.lineage.json"
PROMOTION_RECORD = Path("reports") / "promotion.json"
# The short A/B test: the retrained version against the champion on half the held-out rows
# each, decided by the project's `make ab-report` on the labels sent back. Its plan asks for
# more labelled rows than the held-out set has, so the honest decision is "not enough data".
AB_WEIGHT = 0.5
AB_BATCH_SIZE = 10
AB_PLAN = {"metric": "accuracy", "baseline": 0.9, "minimum_detectable_effect": 0.05,
           "challenger_weight": AB_WEIGHT}
AB_LABELS = "ab"  # its labels go to ab_labels.csv in the demo's folder
AB_REPORT = Path("monitoring") / "ab_test" / "ab_report.json"
COMMAND_TIMEOUT = 600


class DemoError(RuntimeError):
    """A step of the demo failed; the message names the step, the command and its log."""


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def platform_state(self) -> Path:
        return self.root / "platform"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def serving(self) -> Path:
        return self.root / "serving"

    @property
    def summary_file(self) -> Path:
        return self.root / "summary.json"


class DemoRun:
    """The state one demo run carries from step to step."""

    def __init__(self, paths: DemoPaths, progress: StepProgress) -> None:
        self.paths = paths
        self.progress = progress
        self.started = time.monotonic()
        self.summary = DemoSummary()
        self.project = Path()
        self.outputs: PlatformOutputs | None = None
        self.serving = contextlib.ExitStack()  # the model server, while it runs
        self.handle: ServingHandle | None = None
        self.step_count = 0

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.step_count += 1
        with self.progress.step(title):
            yield
        self.summary.step_seconds[title] = self.progress.seconds[title]

    def make(self, target: str, *variables: str, allowed: Sequence[int] = (0,)) -> tuple[int, str]:
        """``make <target>`` of the project, in this environment (no per-project venv)."""
        command = ["make", "--no-print-directory", target, f"VENV={sys.prefix}", *variables]
        return self.execute(target, command, allowed)

    def execute(self, name: str, command: Sequence[str],
                allowed: Sequence[int] = (0,)) -> tuple[int, str]:
        """Run ``command`` in the project; its output goes, line by line as it comes, to a
        log named after the step and to the progress display's status line."""
        log = self.paths.logs / f"{self.step_count:02d}-{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []
        with log.open("w") as log_file:
            log_file.write(f"$ {' '.join(command)}\n")

            def on_line(line: str) -> None:
                lines.append(line)
                log_file.write(line + "\n")
                log_file.flush()
                self.progress.status(line)

            try:
                returncode = run_streamed(command, on_line, cwd=self.project,
                                          timeout=COMMAND_TIMEOUT)
            except CommandTimeoutError as error:
                raise DemoError(str(error)) from error
        if returncode not in allowed:
            last_lines = "\n".join("\n".join(lines).strip().splitlines()[-15:])
            raise DemoError(f"`{' '.join(command)}` in {self.project} exited {returncode}; "
                            f"full output in {log}; last lines:\n{last_lines}")
        return returncode, "\n".join(lines)

    @property
    def client(self):
        from mlflow import MlflowClient

        assert self.outputs is not None
        return MlflowClient(tracking_uri=self.outputs.tracking_uri,
                            registry_uri=self.outputs.registry_uri)

    def param(self, key: str):
        return Project.open(self.project).param(key)


# --- the steps, in order ----------------------------------------------------------------------


def reset_output(run: DemoRun) -> None:
    """A fresh output folder; a platform a previous run left behind is stopped first."""
    refuse_foreign_folder(run.paths.root)
    platform.down(run.paths.platform_state)
    shutil.rmtree(run.paths.root, ignore_errors=True)
    run.paths.root.mkdir(parents=True)


def refuse_foreign_folder(root: Path) -> None:
    """Empty only a new folder or an earlier demo's: never a folder of someone's own files."""
    if not root.exists():
        return
    if not root.is_dir():
        raise DemoError(f"--output-dir {root} is a file: give a folder for the demo")
    paths = DemoPaths(root)
    earlier_demo = paths.platform_state.is_dir() or paths.summary_file.is_file()
    if any(root.iterdir()) and not earlier_demo:
        raise DemoError(f"--output-dir {root} holds files of its own and no earlier demo, and "
                        "the demo empties its folder first: give a new or empty folder "
                        "(default build/demo)")


def start_platform(run: DemoRun) -> None:
    settings = LocalPlatformSettings(state_dir=run.paths.platform_state, port=0)
    started = platform.up(settings)
    run.outputs = started.outputs
    run.summary.tracking_metrics_url = started.metrics_url
    run.summary.mlflow_ui_url = run.outputs.tracking_uri
    run.summary.mlflow_health_url = f"{run.outputs.tracking_uri}/health"
    run.summary.platform_state_dir = str(run.paths.platform_state)


def bake_project(run: DemoRun) -> None:
    outputs_file = state.outputs_path(run.paths.platform_state)
    project = cookiecutter(str(REPO_ROOT), no_input=True, output_dir=str(run.paths.root),
                           extra_context={"maturity_level": MATURITY_LEVEL,
                                          "primary_metric": PRIMARY_METRIC,
                                          "platform_outputs": str(outputs_file)})
    run.project = Path(project)
    run.summary.project = str(run.project)
    run.summary.model_name = run.param(ml_contract.PARAM_MODEL_NAME)


def run_pipeline(run: DemoRun) -> None:
    run.make("pipeline")


def approve_and_promote(run: DemoRun) -> None:
    """Level 2: the gate promotes only an approved challenger; approve, then ask the gate."""
    run.make("approve", f"APPROVER={APPROVER}")
    run.make("promote")
    champion = current_champion(run)
    if champion is None:
        raise DemoError(f"the promotion gate refused the challenger; its reasons are in "
                        f"{run.project / 'reports' / 'promotion.json'} and "
                        f"{run.project / ml_contract.AUDIT_LOG_FILE}")
    run.summary.first_champion = run.summary.first_champion or champion
    run.summary.champion = champion
    recent = json.loads((run.project / PROMOTION_RECORD).read_text())["details"]["recent_window"]
    run.summary.recent_window = recent or {}


def current_champion(run: DemoRun) -> str | None:
    versions = registry_versions(run.client, run.summary.model_name, primary_metric(run))
    return champion_of(versions)


def primary_metric(run: DemoRun) -> str:
    return run.param(ml_contract.PARAM_PRIMARY_METRIC)


@contextlib.contextmanager
def serving_champion(run: DemoRun) -> Iterator[ServingHandle]:
    """The platform's model server on the champion, logging to the project's monitoring/."""
    assert run.outputs is not None
    model_uri = f"models:/{run.summary.model_name}@{ml_contract.ALIAS_CHAMPION}"
    settings = ServingSettings(model_uri=model_uri, log_dir=run.project / MONITORING_DIR)
    work_dir = run.paths.serving / f"champion-v{run.summary.champion}"
    with _serving_in(run.outputs.tracking_uri, settings, work_dir) as handle:
        run.summary.serving_url = handle.url
        run.summary.serving_health_url = handle.ready_url
        run.summary.serving_metrics_url = handle.metrics_url or ""
        run.summary.served_champion = run.summary.champion
        yield handle


def serve_champion(run: DemoRun) -> None:
    run.handle = run.serving.enter_context(serving_champion(run))


def stop_serving(run: DemoRun) -> None:
    """Stopped before the drift check, which reads the log the server wrote."""
    run.serving.close()
    run.handle = None


def serving_handle(run: DemoRun) -> ServingHandle:
    assert run.handle is not None, "the model server is not running"
    return run.handle


@contextlib.contextmanager
def tracking_environment(tracking_uri: str) -> Iterator[None]:
    """MLFLOW_TRACKING_URI for resolving models:/ URIs (quietly), restored afterwards."""
    wanted = {"MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def held_out_rows(run: DemoRun):
    target = run.param("data.target")
    return feature_rows(run.project / "data" / "prepared" / "test.csv", target)


def send_predictions(run: DemoRun) -> None:
    handle = serving_handle(run)
    rows = held_out_rows(run)
    first = send_rows(handle.invocations_url, rows.iloc[:1])
    run.summary.seconds_to_first_prediction = round(time.monotonic() - run.started, 2)
    rest = send_rows(handle.invocations_url, rows.iloc[1:])
    every = first + rest
    run.summary.predictions_sent = every.sent
    run.summary.predictions_answered = every.answered
    run.summary.latency_p50_ms = round(rest.p50_ms, 2)
    run.summary.latency_p99_ms = round(every.p99_ms, 2)


def prepared_rows(run: DemoRun, split: str) -> pd.DataFrame:
    """The project's prepared ``train`` or ``test`` rows, with their target."""
    return pd.read_csv(run.project / "data" / "prepared" / f"{split}.csv")


def send_labelled(run: DemoRun, rows: pd.DataFrame, name: str,
                  batch_size: int = SHIFTED_BATCH_SIZE) -> TrafficResult:
    """``rows`` (the project's own, with their target) served in batches, and their
    outcomes sent back by prediction id through the project's `make labels` (from
    ``<name>_labels.csv`` in the demo's folder)."""
    target = run.param("data.target")
    result = send_rows(serving_handle(run).invocations_url, rows.drop(columns=[target]),
                       batch_size=batch_size)
    labels = run.paths.root / f"{name}_labels.csv"
    pd.DataFrame({"prediction_id": result.prediction_ids,
                  "label": rows[target]}).to_csv(labels, index=False)
    run.make("labels", f"FILE={labels}")
    return result


def shifted_segment(rows: pd.DataFrame, target: str) -> pd.DataFrame:
    return shifted(rows.drop(columns=[target])).assign(**{target: rows[target]})


def send_shifted_segment(run: DemoRun) -> None:
    """The world shifts: the training rows come back shifted, and their outcomes with them."""
    rows = prepared_rows(run, "train")
    result = send_labelled(run, shifted_segment(rows, run.param("data.target")), "shifted")
    run.summary.shifted_rows_sent += result.answered


def send_recent_window(run: DemoRun) -> None:
    """The next window of the platform's recent_window (a minute on the local platform, so
    the demo waits for the clock): the held-out rows, shifted, and their outcomes. Neither
    version trains on them; the gate compares both on them."""
    width = window_seconds(platform_rules().environment(LOCAL_ENVIRONMENT).recent_window)
    time.sleep(width - time.time() % width)
    rows = prepared_rows(run, "test")
    result = send_labelled(run, shifted_segment(rows, run.param("data.target")), "recent")
    run.summary.shifted_rows_sent += result.answered


def detect_drift(run: DemoRun) -> None:
    """The project's `make drift` (mlops-drift on the serving log against the training data).

    Drift is what triggers retraining at level 2, as in the project's scheduled CI. make
    turns the check's exit 1 (drift) into its own 2, as it does an error, so the verdict is
    read from the JSON report the check writes; no report means the check itself failed.
    """
    _, output = run.make("drift", allowed=(0, MAKE_RECIPE_FAILED))
    lines = output.splitlines()
    found = [index for index, line in enumerate(lines) if line.startswith(REPORTS_PREFIX)]
    if not found:
        raise DemoError(f"`make drift` wrote no report; its output is in {run.paths.logs}")
    html, json_report = (run.project / path
                         for path in lines[found[-1]].removeprefix(REPORTS_PREFIX).split())
    run.summary.drift_detected = bool(json.loads(json_report.read_text())["drift_detected"])
    run.summary.drift_verdict = next(
        (line for line in lines if line.startswith(DRIFT_VERDICTS)), "")
    run.summary.reports["drift (HTML)"] = str(html)
    run.summary.reports["drift (JSON)"] = str(json_report)


def check_performance(run: DemoRun) -> None:
    """The project's `make performance`: the champion's accuracy on the labelled served rows
    against the value it was promoted with. Its exit 1 (degraded) reaches us as make's 2, as
    an error does, so the verdict is read from the line it starts with."""
    _, output = run.make("performance", allowed=(0, MAKE_RECIPE_FAILED))
    verdict = next((line for line in output.splitlines()
                    if line.startswith(PERFORMANCE_VERDICTS)), "")
    if not verdict:
        raise DemoError(f"`make performance` could not check; its output is in {run.paths.logs}")
    run.summary.performance_verdict = verdict
    run.summary.degraded = verdict.startswith(PERFORMANCE_VERDICTS[0])


def retrain(run: DemoRun) -> None:
    """Level 2: degradation triggers retraining, through the project's own `make retrain`,
    which first turns the labelled served rows into a new data version."""
    if not run.summary.degraded:
        raise DemoError(f"the shifted segment did not degrade the champion "
                        f"({run.summary.performance_verdict}), so nothing triggers retraining")
    run.make("retrain")
    run.summary.retrained = True
    lineage = json.loads((run.project / LABELLED_LINEAGE).read_text())
    run.summary.labelled_rows = lineage["rows"]
    run.summary.labelled_left_out = {why: count for why, count in lineage["left_out"].items()
                                     if count}


def newest_version(run: DemoRun) -> str:
    versions = registry_versions(run.client, run.summary.model_name, primary_metric(run))
    return versions[-1].version


def serve_ab_test(run: DemoRun) -> None:
    """The champion and the retrained version behind one server, half the rows each."""
    assert run.outputs is not None
    name, challenger = run.summary.model_name, newest_version(run)
    settings = ServingSettings(
        model_uri=f"models:/{name}@{ml_contract.ALIAS_CHAMPION}",
        log_dir=run.project / MONITORING_DIR, challenger=f"models:/{name}/{challenger}",
        challenger_weight=AB_WEIGHT)
    work_dir = run.paths.serving / f"ab-v{run.summary.champion}-v{challenger}"
    run.handle = run.serving.enter_context(_serving_in(run.outputs.tracking_uri, settings,
                                                       work_dir))
    run.summary.ab_champion = run.summary.champion
    run.summary.ab_challenger = challenger


@contextlib.contextmanager
def _serving_in(tracking_uri: str, settings: ServingSettings, work_dir: Path
                ) -> Iterator[ServingHandle]:
    with tracking_environment(tracking_uri), start_serving(settings, work_dir=work_dir) as handle:
        yield handle


def run_ab_test(run: DemoRun) -> None:
    """The held-out rows served by both arms, their labels sent back (`make labels`), and
    the test decided by `make ab-report` on the plan written to ab_test.yaml."""
    send_labelled(run, prepared_rows(run, "test"), AB_LABELS, batch_size=AB_BATCH_SIZE)
    (run.project / ab_test.PLAN_FILE).write_text(yaml.safe_dump(AB_PLAN, sort_keys=False))
    run.make("ab-report", allowed=(0, MAKE_RECIPE_FAILED))
    report = json.loads((run.project / AB_REPORT).read_text())
    run.summary.ab_decision = report["decision"]
    run.summary.ab_rows = {arm: facts["logged"] for arm, facts in report["arms"].items()}
    run.summary.reports["A/B test"] = str(run.project / AB_REPORT.with_suffix(".md"))


def record_registry_and_reports(run: DemoRun) -> None:
    run.summary.versions = registry_versions(run.client, run.summary.model_name,
                                             primary_metric(run))
    run.summary.mlflow_ui_url = f"{run.outputs.tracking_uri}/#/models/{run.summary.model_name}"
    reports = {"metrics": "reports/metrics.json", "model card": "reports/model_card.md",
               "promotion decision": "reports/promotion.json",
               "audit log": ml_contract.AUDIT_LOG_FILE}
    for name, relative in reports.items():
        run.summary.reports[name] = str(run.project / relative)
    run.summary.reports["logs"] = str(run.paths.logs)


# --- the loop -----------------------------------------------------------------------------------

FIRST_STEP = "fresh output folder"
LAST_STEP = "stop the platform"  # runs whatever happened, as does stopping the model server
LOOP: tuple[tuple[str, Callable[[DemoRun], None]], ...] = (
    ("start the embedded platform (MLflow)", start_platform),
    (f"bake a level-{MATURITY_LEVEL} project", bake_project),
    ("make pipeline (DVC: prepare ... register, promote)", run_pipeline),
    (f"make approve APPROVER={APPROVER}; make promote", approve_and_promote),
    ("serve the champion (MLServer, MLflow runtime)", serve_champion),
    ("send predictions (held-out rows, one per request)", send_predictions),
    (f"a shifted segment (training rows x {SHIFT_FACTOR}) is served; make labels",
     send_shifted_segment),
    (f"the next minute: held-out rows x {SHIFT_FACTOR} are served; make labels",
     send_recent_window),
    ("stop the model server", stop_serving),
    ("make drift (served inputs against the training data)", detect_drift),
    ("make performance (the champion's accuracy on the labelled rows)", check_performance),
    ("make retrain (triggered by the degradation; learns from the labelled rows)", retrain),
    ("serve the champion and the retrained challenger (A/B, half the rows each)",
     serve_ab_test),
    ("A/B test: held-out rows, their labels, make ab-report", run_ab_test),
    ("stop the A/B test's model server", stop_serving),
    (f"make approve APPROVER={APPROVER}; make promote (the new version, compared on the "
     "recent window)", approve_and_promote),
    ("read the registry", record_registry_and_reports),
)
STEP_TITLES = (FIRST_STEP, *(title for title, _ in LOOP), LAST_STEP)


def run_demo(output_dir: Path, console: Console | None = None) -> DemoSummary:
    """Run every step; whatever happens, the model server and the platform are stopped."""
    with StepProgress(console or Console(), STEP_TITLES) as progress:
        run = DemoRun(DemoPaths(output_dir.resolve()), progress)
        with run.step(FIRST_STEP):
            reset_output(run)
        try:
            for title, action in LOOP:
                with run.step(title):
                    action(run)
        finally:
            run.serving.close()
            with run.step(LAST_STEP):
                platform.down(run.paths.platform_state)
            run.summary.write(run.paths.summary_file)
    return run.summary


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.demo",
                                     description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR,
                        help="where the project, the platform's state and the logs go "
                             "(emptied first)")
    return parser.parse_args(argv)


FAILURES = (DemoError, TrafficError, ServingError, ServerStartError, platform.PlatformError)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    try:
        summary = run_demo(args.output_dir, console)
    except FAILURES as error:
        # soft_wrap: the terminal wraps the line; a path in it stays whole to copy.
        console.print(f"[red]demo failed:[/red] {error}", soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]demo interrupted; every process it started is stopped[/yellow]")
        return 130
    print_summary(summary, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
