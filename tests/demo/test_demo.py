"""The demo for real: interrupted by Ctrl-C mid-pipeline, then run again into the
same folder, where it starts fresh and closes the whole loop; nothing it started is left.

Two runs, not three: the complete run after the interrupted one is the "second run" (it
finds a half-built project and a stopped platform, as after a failed or complete run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_platform import contract as ml_contract
from mlops_platform.local_platform import platform
from tests.support.built import built_environment
from tests.support.servers import interruptible, processes_mentioning

DEMO = [sys.executable, "-m", "mlops_platform.demo"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass(frozen=True)
class DemoRun:
    result: subprocess.CompletedProcess[str]
    summary: dict


def run_demo(output_dir: Path, repo_root: Path) -> DemoRun:
    result = subprocess.run([*DEMO, "--output-dir", str(output_dir)],
                            cwd=repo_root, capture_output=True, text=True, timeout=800,
                            env=_wide_terminal())
    assert result.returncode == 0, f"the demo failed:\n{result.stdout}\n{result.stderr}"
    return DemoRun(result, json.loads((output_dir / "summary.json").read_text()))


def _wide_terminal() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200"}


@pytest.fixture(scope="module", autouse=True)
def mlserver_environment(repo_root: Path) -> None:
    """What `make demo` needs beside .venv (`make test` builds it first)."""
    built_environment("mlserver")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "out"


@dataclass(frozen=True)
class InterruptedRun:
    returncode: int
    output: str
    platform_running: bool
    leftover: list[str]


@pytest.fixture(scope="module")
def interrupted_run(demo_dir: Path, repo_root: Path) -> InterruptedRun:
    demo = subprocess.Popen([*DEMO, "--output-dir", str(demo_dir)],
                            cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, env=_wide_terminal(),
                            preexec_fn=interruptible)
    try:
        wait_for(demo_dir / "logs", demo)  # the platform is up, `make pipeline` runs
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        out, _ = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:  # the demo hung: kill it, and stop what it left ourselves
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
            platform.down(demo_dir / "platform")
    return InterruptedRun(demo.returncode, out,
                          platform.status(demo_dir / "platform") is not None,
                          processes_mentioning(str(demo_dir)))


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"the demo ended early: {process.stdout.read()}"
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout:.0f} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def first_run(interrupted_run: InterruptedRun, demo_dir: Path, repo_root: Path) -> DemoRun:
    return run_demo(demo_dir, repo_root)


def test_ctrl_c_mid_pipeline_stops_everything_it_started(
        interrupted_run: InterruptedRun) -> None:
    assert interrupted_run.returncode == 130, interrupted_run.output
    assert "interrupted" in interrupted_run.output
    assert not interrupted_run.platform_running
    assert interrupted_run.leftover == []


def test_the_summary_is_printed_with_every_step_counted(first_run: DemoRun) -> None:
    out = first_run.result.stdout
    steps = first_run.summary["step_seconds"]
    assert out.count("✓") == len(steps)
    assert all(f"/{len(steps)}] {title} (" in out for title in steps)
    assert "✗" not in out
    assert "serving latency" in out and "drift" in out


def test_the_summary_links_only_to_what_is_still_there(first_run: DemoRun) -> None:
    # The demo stops its servers before it prints: their URLs give way to how to reopen.
    out = first_run.result.stdout
    summary = first_run.summary
    assert summary["mlflow_ui_url"].startswith("http://127.0.0.1:")
    assert summary["mlflow_ui_url"].split("/#/")[0] not in out
    assert summary["serving_url"] not in out
    assert f'make platform-up ARGS="--state-dir {summary["platform_state_dir"]}"' in out
    assert summary["reports"]["model card"] in out
    # The Prometheus exporters were there while the demo ran, and the summary says so.
    assert summary["tracking_metrics_url"].startswith("http://127.0.0.1:")
    assert summary["serving_metrics_url"].startswith("http://127.0.0.1:")
    assert "make platform-up and make serve print where theirs are" in out


def test_the_champion_serves_and_answers_every_prediction(first_run: DemoRun) -> None:
    summary = first_run.summary
    assert summary["served_champion"] == summary["first_champion"] == "1"
    assert summary["serving_url"].startswith("http://127.0.0.1:")
    assert summary["predictions_sent"] > 100
    assert summary["predictions_answered"] == summary["predictions_sent"]
    assert 0 < summary["latency_p50_ms"] <= summary["latency_p99_ms"]
    assert summary["seconds_to_first_prediction"] > 0


def test_the_shifted_data_is_detected_as_drift(first_run: DemoRun) -> None:
    summary = first_run.summary
    assert summary["shifted_rows_sent"] > summary["predictions_sent"]
    assert summary["drift_detected"] is True
    assert summary["drift_verdict"].startswith("DRIFT: ")


def test_the_labelled_shifted_segment_degrades_the_champion(first_run: DemoRun) -> None:
    summary = first_run.summary
    assert summary["degraded"] is True
    assert summary["performance_verdict"].startswith("DEGRADED: accuracy ")
    assert "performance" in first_run.result.stdout


def test_the_retrain_learns_from_the_labelled_rows_and_wins_on_the_recent_window(
        first_run: DemoRun) -> None:
    summary = first_run.summary
    assert summary["retrained"] is True
    # Every labelled shifted row is in the new data version or counted out (the contract's
    # ranges refuse the most shifted ones), never dropped silently.
    left_out = sum(summary["labelled_left_out"].values())
    assert summary["labelled_rows"] > 0
    assert summary["labelled_rows"] + left_out == summary["shifted_rows_sent"]
    recent = summary["recent_window"]
    assert recent["width"] == "1m" and recent["rows"] >= 30
    assert recent["measured"]["2"] > recent["measured"]["1"]
    audit = Path(summary["reports"]["audit log"]).read_text().splitlines()
    promoted = json.loads(audit[-1])
    assert (promoted["version"], promoted["outcome"]) == ("2", "promoted")
    assert promoted["details"]["recent_window"]["measured"] == recent["measured"]
    assert "recent window" in first_run.result.stdout


def test_the_new_version_is_promoted_through_the_gate(first_run: DemoRun) -> None:
    summary = first_run.summary
    versions = {v["version"]: v for v in summary["versions"]}
    assert sorted(versions) == ["1", "2"]
    assert summary["champion"] == "2"
    assert ml_contract.ALIAS_CHAMPION in versions["2"]["aliases"]
    assert ml_contract.ALIAS_CHAMPION not in versions["1"]["aliases"]
    assert all(0.9 <= v["value"] <= 1.0 for v in versions.values())


def test_a_short_ab_test_serves_both_arms_and_is_decided_at_its_horizon(
        first_run: DemoRun) -> None:
    summary = first_run.summary
    assert (summary["ab_champion"], summary["ab_challenger"]) == ("1", "2")
    assert set(summary["ab_rows"]) == {"champion", "challenger"}
    assert sum(summary["ab_rows"].values()) == summary["predictions_sent"]  # the held-out rows
    assert all(count > 0 for count in summary["ab_rows"].values())
    # The plan needs more labelled rows than the held-out set has: no early call is made.
    assert summary["ab_decision"] == "not-enough-data"
    assert Path(summary["reports"]["A/B test"]).is_file()
    assert "A/B test" in first_run.result.stdout


def test_no_process_is_left_behind(first_run: DemoRun, demo_dir: Path) -> None:
    assert platform.status(demo_dir / "platform") is None
    assert processes_mentioning(str(demo_dir)) == []


def test_the_run_after_an_interrupted_one_starts_fresh(first_run: DemoRun) -> None:
    summary = first_run.summary
    assert [v["version"] for v in summary["versions"]] == ["1", "2"]  # a fresh registry
    for name in ("drift (HTML)", "drift (JSON)", "model card", "audit log"):
        assert Path(summary["reports"][name]).is_file(), name
    audit = Path(summary["reports"]["audit log"]).read_text().splitlines()
    decisions = [(json.loads(line)["version"], json.loads(line)["outcome"]) for line in audit]
    # The gate writes "pending" before it moves the alias and its decision after.
    assert decisions == [("1", "refused"), ("1", "approved"), ("1", "pending"), ("1", "promoted"),
                         ("2", "refused"), ("2", "approved"), ("2", "pending"), ("2", "promoted")]


def test_a_folder_of_someone_elses_files_is_refused_and_kept(tmp_path: Path,
                                                             repo_root: Path) -> None:
    own_file = tmp_path / "thesis.tex"
    own_file.write_text("years of work")
    result = subprocess.run([*DEMO, "--output-dir", str(tmp_path)],
                            cwd=repo_root, capture_output=True, text=True, timeout=120,
                            env=_wide_terminal())
    assert result.returncode == 1
    assert "holds files of its own" in result.stdout and "new or empty folder" in result.stdout
    assert own_file.read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]
