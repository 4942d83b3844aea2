"""`make metrics-diff`: the sample run's metrics against the champion's, from a real registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_platform.ci.metrics_diff import main
from mlops_platform.contract import PlatformOutputs
from tests.pipelines.registry import register, unique_model_name, write_params


@pytest.fixture
def project(tmp_path: Path, shared_platform_outputs_file: Path,
            monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLATFORM_OUTPUTS", str(shared_platform_outputs_file))
    return tmp_path / "project"


def write_metrics(project: Path, **metrics: float) -> None:
    """What `make pipeline-sample` leaves, out of git."""
    (project / "reports" / "sample").mkdir(parents=True, exist_ok=True)
    (project / "reports" / "sample" / "metrics.json").write_text(json.dumps(metrics))


def test_the_table_compares_with_the_champion_and_names_the_verdict(
        project: Path, shared_platform: PlatformOutputs,
        capsys: pytest.CaptureFixture[str]) -> None:
    name = unique_model_name("diff")
    register(shared_platform, name, {"roc_auc": 0.90, "f1": 0.80}, alias="champion")
    register(shared_platform, name, {"roc_auc": 0.99, "f1": 0.10}, alias="challenger")
    write_params(project, name)
    write_metrics(project, roc_auc=0.95, f1=0.85)
    assert main(["--project", str(project)]) == 0
    markdown = (project / "reports" / "sample" / "metrics_diff.md").read_text()
    assert "`roc_auc` is **better** than the champion's (version 1)." in markdown
    assert "| **roc_auc** | 0.9500 | 0.9000 | +0.0500 |" in markdown
    assert "| f1 | 0.8500 | 0.8000 | +0.0500 |" in markdown
    assert markdown in capsys.readouterr().out


def test_lower_is_better_metrics_judge_the_other_way(
        project: Path, shared_platform: PlatformOutputs) -> None:
    name = unique_model_name("diff-loss")
    register(shared_platform, name, {"log_loss": 0.20}, alias="champion")
    write_params(project, name, metric="log_loss", higher_is_better=False)
    write_metrics(project, log_loss=0.30)
    assert main(["--project", str(project)]) == 0
    assert "**worse**" in (project / "reports" / "sample" / "metrics_diff.md").read_text()


def test_without_a_champion_the_run_would_be_the_first(
        project: Path, shared_platform: PlatformOutputs) -> None:
    name = unique_model_name("diff-first")
    write_params(project, name)
    write_metrics(project, roc_auc=0.95)
    assert main(["--project", str(project), "--output", str(project / "diff.md")]) == 0
    markdown = (project / "diff.md").read_text()
    assert "No champion of" in markdown
    assert "| **roc_auc** | 0.9500 | n/a | n/a |" in markdown


def test_missing_metrics_name_the_command_to_run(
        project: Path, shared_platform: PlatformOutputs,
        capsys: pytest.CaptureFixture[str]) -> None:
    write_params(project, unique_model_name("diff-none"))
    assert main(["--project", str(project)]) == 2
    assert ("reports/sample/metrics.json is missing: run the pipeline on a sample first "
            "(`make pipeline-sample`)") in capsys.readouterr().err
    assert not (project / "reports" / "sample" / "metrics_diff.md").exists()
