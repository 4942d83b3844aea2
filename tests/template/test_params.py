"""Nonsense in a baked project's params.yaml: every step, `make pipeline` and `make check` stop
with one line naming the key, the value and what it accepts; nothing runs, registers or changes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlops_platform.contract import PlatformOutputs
from tests.template.baking import DEFAULT_PACKAGE, bake, make

pytestmark = pytest.mark.slow

# (the line of the generated params.yaml, what replaces it, the problem reported)
NONSENSE = [
    pytest.param("test_size: 0.2", "test_size: 1.5",
                 "data.test_size = 1.5 is not valid: a number above 0 and below 1",
                 id="test-size-above-one"),
    pytest.param("folds: 3", "folds: 1", "tune.folds = 1 is not valid: an integer of 2 or more",
                 id="one-fold"),
    pytest.param("primary_metric: roc_auc", "primary_metric: mse",
                 "promotion.primary_metric = 'mse' is not valid: one of roc_auc, f1, accuracy, "
                 "precision, recall", id="unknown-metric"),
    pytest.param("threshold: 0.9", "threshold: high",
                 "promotion.threshold = 'high' is not valid: a number between 0 and 1",
                 id="threshold-high"),
]
BAD_THRESHOLD = "promotion.threshold = 'high' is not valid: a number between 0 and 1"
STEPS = ("prepare", "validate", "tune", "train", "evaluate", "register", "promote", "serve",
         "monitor", "performance")
# monitor's and performance's exit code for inputs they cannot use (1 means drift or
# degradation)
UNCHECKED = 2


@dataclass(frozen=True)
class Baked:
    project: Path
    model_name: str
    client: MlflowClient

    def nothing_happened(self) -> None:
        """No stage output, no registered version, no change but to params.yaml."""
        assert not (self.project / "data" / "prepared").exists()
        assert not (self.project / "reports").exists()
        assert self.client.search_model_versions(f"name = '{self.model_name}'") == []
        status = subprocess.run(["git", "status", "--porcelain"], cwd=self.project, check=True,
                                capture_output=True, text=True).stdout
        assert status == " M params.yaml\n"


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory, shared_platform: PlatformOutputs,
          shared_platform_outputs_file: Path) -> Baked:
    # Level 1: its pipeline ends with registration and promotion, the stages that must not run.
    model_name = f"params-{uuid.uuid4().hex[:8]}"
    project = bake(tmp_path_factory.mktemp("params"), maturity_level="1", model_name=model_name,
                   platform_outputs=str(shared_platform_outputs_file))
    return Baked(project, model_name, MlflowClient(shared_platform.tracking_uri))


@pytest.fixture
def with_params_line(baked: Baked) -> Iterator:
    params_file = baked.project / "params.yaml"
    good = params_file.read_text()

    def replace(line: str, nonsense: str) -> None:
        assert f" {line}\n" in good
        params_file.write_text(good.replace(f" {line}\n", f" {nonsense}\n"))

    yield replace
    params_file.write_text(good)


def run_step(project: Path, step: str) -> subprocess.CompletedProcess[str]:
    """`python -m <package>.<step>` as the DVC stage runs it: this environment, src/ importable."""
    return subprocess.run([sys.executable, "-m", f"{DEFAULT_PACKAGE}.{step}"], cwd=project,
                          env={**os.environ, "PYTHONPATH": str(project / "src")},
                          capture_output=True, text=True, timeout=120)


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(("line", "nonsense", "problem"), NONSENSE)
def test_nonsense_stops_the_pipeline_at_its_first_step_in_one_line(
        baked: Baked, with_params_line, line: str, nonsense: str, problem: str) -> None:
    with_params_line(line, nonsense)

    step = run_step(baked.project, "prepare")
    pipeline = make(baked.project, "pipeline", check=False)

    assert (step.returncode, step.stdout) == (1, "")
    assert step.stderr == f"error: prepare stopped: params.yaml: {problem}\n"
    assert pipeline.returncode != 0
    assert error_lines(pipeline.stderr) == [f"error: prepare stopped: params.yaml: {problem}"]
    assert "Traceback" not in pipeline.stdout + pipeline.stderr
    assert "Running stage 'validate'" not in pipeline.stdout
    baked.nothing_happened()


@pytest.mark.parametrize("step", STEPS)
def test_every_step_checks_the_promotion_keys_before_it_starts(
        baked: Baked, with_params_line, step: str) -> None:
    with_params_line("threshold: 0.9", "threshold: high")

    result = run_step(baked.project, step)

    assert result.returncode == (UNCHECKED if step in {"monitor", "performance"} else 1)
    assert result.stderr == f"error: {step} stopped: params.yaml: {BAD_THRESHOLD}\n"
    baked.nothing_happened()


@pytest.mark.parametrize(("line", "nonsense", "problem"), NONSENSE)
def test_make_check_reports_the_same_line(baked: Baked, with_params_line, line: str,
                                          nonsense: str, problem: str) -> None:
    with_params_line(line, nonsense)

    result = make(baked.project, "check", check=False)

    assert result.returncode != 0
    assert f"mlops-policy check: {baked.project / 'params.yaml'}: {problem}\n" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
