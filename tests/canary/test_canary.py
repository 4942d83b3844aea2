"""A canary rollout judged on a real Prometheus (Debian's, over backfilled samples of the
serving runtime's per-arm metrics), committed in a real git repository, recorded in the audit
log and the registry of the shared local platform."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_platform import contract as ml_contract
from mlops_platform.canary import COMPLETE, HOLD, IDLE, ROLLBACK, STEP, UNCHECKED, main
from mlops_platform.contract import PlatformOutputs
from mlops_platform.deploy.manifest import load_deployment
from mlops_platform.governance import audit_log
from mlops_platform.monitoring import catalog
from mlops_platform.prediction_log import ARM, LABEL, PREDICTION, PREDICTION_ID, SERVED_AT
from tests.monitoring.samples import counter
from tests.pipelines.registry import register, unique_model_name, write_params
from tests.support.prometheus import Prometheus, running_prometheus

pytestmark = pytest.mark.slow

HEADER = "# GitOps: change by pull request.\n"
FAST, SLOW = 2, 5  # indexes of latency buckets: at most 5 ms, at most 50 ms
# Per scenario: per-second rates of the challenger's rows, predictions and failures, and its
# latency bucket; the champion answers 9 rows/s, predicts 1/s, never fails, within 5 ms.
SCENARIOS = {
    "steady": {"rows": 1.0, "predictions": 0.5, "failures": 0.0, "bucket": FAST},
    "failing": {"rows": 1.0, "predictions": 0.5, "failures": 0.05, "bucket": FAST},
    "slow": {"rows": 1.0, "predictions": 0.5, "failures": 0.0, "bucket": SLOW},
    "quiet": {"rows": 0.05, "predictions": 0.05, "failures": 0.0, "bucket": FAST},
}
CHAMPION = {"rows": 9.0, "predictions": 1.0, "failures": 0.0, "bucket": FAST}
NAMES = {scenario: unique_model_name(f"canary-{scenario}") for scenario in SCENARIOS}


def histogram_in_bucket(name: str, labels: dict[str, str], bucket: int, rate: float,
                        end: int) -> Iterator[str]:
    """Every observation in one bucket of the catalog's latency buckets."""
    bounds = [*map(str, catalog.LATENCY_BUCKETS_SECONDS), "+Inf"]
    for index, bound in enumerate(bounds):
        yield from counter(f"{name}_bucket", {**labels, "le": bound},
                           rate if index >= bucket else 0.0, end)
    yield from counter(f"{name}_count", labels, rate, end)
    yield from counter(f"{name}_sum", labels, rate * catalog.LATENCY_BUCKETS_SECONDS[bucket], end)


def arm_series(model: str, arm: str, version: str, rates: dict, end: int) -> Iterator[str]:
    labels = {"job": catalog.SERVING_JOB, "model": model, "version": version, "arm": arm}
    yield from counter(catalog.SERVING_AB_ROWS.name, labels, rates["rows"], end)
    yield from counter(catalog.SERVING_AB_FAILURES.name, labels, rates["failures"], end)
    yield from histogram_in_bucket(catalog.SERVING_AB_PREDICT_SECONDS.name, labels,
                                   rates["bucket"], rates["predictions"], end)


def openmetrics(end: int) -> str:
    lines = [line for scenario, rates in SCENARIOS.items()
             for arm, version, arm_rates in (("champion", "1", CHAMPION),
                                             ("challenger", "2", rates))
             for line in arm_series(NAMES[scenario], arm, version, arm_rates, end)]
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    end = int(time.time()) - 10  # the last sample, within the 10-minute window of "now"
    with running_prometheus(tmp_path_factory.mktemp("prometheus"), openmetrics(end)) as server:
        yield server


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True,
                          text=True).stdout


def project_for(root: Path, name: str, weight: float, platform: PlatformOutputs) -> Path:
    """A project serving ``name`` in staging with version 2 as its challenger at ``weight``."""
    register(platform, name, {"roc_auc": 0.9}, alias="champion")
    register(platform, name, {"roc_auc": 0.91})
    write_params(root, name)
    (root / "deploy").mkdir()
    (root / "deploy" / "staging.yaml").write_text(
        f"{HEADER}environment: staging\nplatform_stack: org/mlops-platform/staging\nmodels:\n"
        f"  - name: {name}\n    version: 1\n    challenger: {{version: 2, weight: {weight}}}\n")
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "project")
    return root


@pytest.fixture
def environment(shared_platform_outputs_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_OUTPUTS", str(shared_platform_outputs_file))
    for name, value in {"GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.invalid",
                        "GIT_COMMITTER_NAME": "ci",
                        "GIT_COMMITTER_EMAIL": "ci@example.invalid",
                        "MLOPS_ACTOR": "canary-job"}.items():
        monkeypatch.setenv(name, value)


def canary(project: Path, prometheus: Prometheus, *extra: str) -> int:
    return main(["--project", str(project), "--env", "staging", "--prometheus", prometheus.url,
                 *extra])


def challenger_of(project: Path) -> tuple[int | None, float | None]:
    (model,) = load_deployment(project / "deploy" / "staging.yaml").models
    return (model.challenger.version, model.challenger.weight) if model.challenger \
        else (None, None)


def said(out: str, action: str) -> bool:
    """The canary's verdict line is ``ACTION: reasons``."""
    return any(line.startswith(f"{action.upper()}: ") for line in out.splitlines())


def audit_records(project: Path) -> list[dict]:
    return audit_log.read(project / ml_contract.AUDIT_LOG_FILE)


def test_a_steady_challenger_steps_up_in_a_commit_and_an_audit_record(
        tmp_path, prometheus, shared_platform, environment, capsys) -> None:
    name = NAMES["steady"]
    project = project_for(tmp_path / "p", name, 0.05, shared_platform)
    assert canary(project, prometheus) == 0
    assert said(capsys.readouterr().out, STEP)
    assert challenger_of(project) == (2, 0.25)
    assert git(project, "log", "-1", "--format=%s").startswith(
        f"canary: {name} challenger models:/{name}/2 to 25% in staging")
    assert git(project, "status", "--porcelain") == ""
    (record,) = audit_records(project)
    assert (record["action"], record["outcome"], record["actor"]) == \
        ("canary", "stepped", "canary-job")
    assert record["details"]["next_weight"] == 0.25
    head = MlflowClient(shared_platform.tracking_uri).get_registered_model(name).tags
    assert head[ml_contract.TAG_AUDIT_HEAD] == audit_log.reference(record)


@pytest.mark.parametrize(("scenario", "reason"), [
    ("failing", "over the champion's 0.00% (bound 1.00%)"),
    ("slow", "its p99 prediction time"),
])
def test_a_challenger_worse_than_the_champion_is_rolled_back(
        tmp_path, prometheus, shared_platform, environment, capsys, scenario, reason) -> None:
    project = project_for(tmp_path / "p", NAMES[scenario], 0.25, shared_platform)
    assert canary(project, prometheus) == 1
    out = capsys.readouterr().out
    assert said(out, ROLLBACK) and reason in out, out
    assert challenger_of(project) == (None, None)
    assert git(project, "log", "-1", "--format=%s").startswith(
        f"canary: roll back {NAMES[scenario]} challenger")
    (record,) = audit_records(project)
    assert record["outcome"] == "rolled-back" and reason in record["reasons"][0]


def test_too_few_challenger_rows_hold_the_weight_and_change_nothing(
        tmp_path, prometheus, shared_platform, environment, capsys) -> None:
    project = project_for(tmp_path / "p", NAMES["quiet"], 0.05, shared_platform)
    assert canary(project, prometheus) == 0
    assert said(capsys.readouterr().out, HOLD)
    assert challenger_of(project) == (2, 0.05)
    assert git(project, "rev-list", "--count", "HEAD") == "1\n"
    assert not (project / ml_contract.AUDIT_LOG_FILE).exists()


def test_the_last_step_held_asks_for_the_gate_and_changes_nothing(
        tmp_path, prometheus, shared_platform, environment, capsys) -> None:
    project = project_for(tmp_path / "p", NAMES["steady"], 1.0, shared_platform)
    assert canary(project, prometheus) == 0
    out = capsys.readouterr().out
    assert said(out, COMPLETE) and "make approve; make promote" in out
    assert git(project, "rev-list", "--count", "HEAD") == "1\n"


def test_a_challenger_less_accurate_on_labelled_rows_is_rolled_back(
        tmp_path, prometheus, shared_platform, environment, capsys) -> None:
    project = project_for(tmp_path / "p", NAMES["steady"], 0.25, shared_platform)
    lines, labels = [], []
    for index in range(400):
        arm = "challenger" if index % 2 else "champion"
        # Every label is 1; the champion answers 1, the challenger 1 on 60% of its rows.
        prediction = 0 if arm == "challenger" and index % 10 in (1, 3) else 1
        lines.append({"x": 1.0, PREDICTION_ID: f"id-{index}", PREDICTION: prediction,
                      SERVED_AT: 1.0, ARM: arm})
        labels.append({PREDICTION_ID: f"id-{index}", LABEL: 1, "labelled_at": 2.0})
    log, label_file = tmp_path / "predictions.jsonl", tmp_path / "labels.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    label_file.write_text("".join(json.dumps(line) + "\n" for line in labels))
    assert canary(project, prometheus, "--predictions", str(log), "--labels",
                  str(label_file)) == 1
    out = capsys.readouterr().out
    assert "its accuracy 0.6000 on 200 labelled rows is 0.4000 below the champion's" in out, out
    assert challenger_of(project) == (None, None)


def test_an_unreachable_prometheus_changes_nothing(tmp_path, shared_platform, environment,
                                                   capsys) -> None:
    project = project_for(tmp_path / "p", unique_model_name("canary-down"), 0.05,
                          shared_platform)
    assert canary(project, Prometheus("http://127.0.0.1:9")) == UNCHECKED
    assert "did not answer" in capsys.readouterr().err
    assert challenger_of(project) == (2, 0.05)
    assert git(project, "status", "--porcelain") == ""


def test_a_bad_plan_is_named_and_changes_nothing(tmp_path, prometheus, shared_platform,
                                                 environment, capsys) -> None:
    project = project_for(tmp_path / "p", unique_model_name("canary-plan"), 0.05,
                          shared_platform)
    (project / "canary.yaml").write_text("steps: [0.5, 0.25]\n")
    assert canary(project, prometheus) == UNCHECKED
    assert "must be rising weights" in capsys.readouterr().err
    assert challenger_of(project) == (2, 0.05)


def test_without_a_challenger_there_is_nothing_to_roll_out(tmp_path, prometheus,
                                                           shared_platform, environment,
                                                           capsys) -> None:
    project = project_for(tmp_path / "p", unique_model_name("canary-none"), 0.05,
                          shared_platform)
    path = project / "deploy" / "staging.yaml"
    path.write_text(path.read_text().split("    challenger")[0])
    git(project, "commit", "--quiet", "-am", "no challenger")
    assert canary(project, prometheus) == 0
    assert said(capsys.readouterr().out, IDLE)
    assert git(project, "status", "--porcelain") == ""


def test_a_model_not_deployed_has_nothing_to_roll_out(tmp_path, prometheus, shared_platform,
                                                       environment, capsys) -> None:
    project = project_for(tmp_path / "p", unique_model_name("canary-absent"), 0.05,
                          shared_platform)
    path = project / "deploy" / "staging.yaml"
    path.write_text(path.read_text().split("models:")[0] + "models: []\n")
    assert canary(project, prometheus) == 0
    out = capsys.readouterr().out
    assert said(out, IDLE) and "declares no served version" in out
