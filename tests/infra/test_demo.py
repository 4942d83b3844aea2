"""`python -m infra.demo` for real, twice into one folder: the loop closes, nothing is left."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.local_platform import platform
from policies import ml_contract

pytestmark = pytest.mark.timeout(900)


@dataclass(frozen=True)
class DemoRun:
    result: subprocess.CompletedProcess[str]
    summary: dict


def run_demo(output_dir: Path, repo_root: Path) -> DemoRun:
    result = subprocess.run([sys.executable, "-m", "infra.demo", "--output-dir", str(output_dir)],
                            cwd=repo_root, capture_output=True, text=True, timeout=800,
                            env=_wide_terminal())
    assert result.returncode == 0, f"the demo failed:\n{result.stdout}\n{result.stderr}"
    return DemoRun(result, json.loads((output_dir / "summary.json").read_text()))


def _wide_terminal() -> dict[str, str]:
    import os

    return {**os.environ, "COLUMNS": "200"}


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that name ``text`` (the demo's folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "out"


@pytest.fixture(scope="module")
def first_run(demo_dir: Path, repo_root: Path) -> DemoRun:
    return run_demo(demo_dir, repo_root)


@pytest.fixture(scope="module")
def second_run(first_run: DemoRun, demo_dir: Path, repo_root: Path) -> DemoRun:
    return run_demo(demo_dir, repo_root)


def test_the_summary_is_printed_with_the_mlflow_ui_and_every_step(first_run: DemoRun) -> None:
    out = first_run.result.stdout
    assert first_run.summary["mlflow_ui_url"].startswith("http://127.0.0.1:")
    assert first_run.summary["mlflow_ui_url"].split("/#/")[0] in out
    assert "serving latency" in out and "drift" in out
    assert out.count("✓") == len(first_run.summary["step_seconds"])
    assert "✗" not in out


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
    assert summary["drift_exit_code"] == 1
    assert summary["drift_detected"] is True
    assert "drift" in summary["drift_verdict"].lower()


def test_drift_retrains_and_the_new_version_is_promoted_through_the_gate(
        first_run: DemoRun) -> None:
    summary = first_run.summary
    assert summary["retrained"] is True
    versions = {v["version"]: v for v in summary["versions"]}
    assert sorted(versions) == ["1", "2"]
    assert summary["champion"] == "2"
    assert ml_contract.ALIAS_CHAMPION in versions["2"]["aliases"]
    assert ml_contract.ALIAS_CHAMPION not in versions["1"]["aliases"]
    assert all(0.9 <= v["value"] <= 1.0 for v in versions.values())


def test_no_process_is_left_behind(first_run: DemoRun, demo_dir: Path) -> None:
    assert platform.status(demo_dir / "platform") is None
    assert processes_mentioning(str(demo_dir)) == []


def test_a_second_run_starts_fresh_and_closes_the_loop_again(second_run: DemoRun,
                                                              demo_dir: Path) -> None:
    summary = second_run.summary
    assert [v["version"] for v in summary["versions"]] == ["1", "2"]
    assert summary["champion"] == "2" and summary["drift_detected"] is True
    for name in ("drift (HTML)", "drift (JSON)", "model card", "audit log"):
        assert Path(summary["reports"][name]).is_file(), name
    audit = Path(summary["reports"]["audit log"]).read_text().splitlines()
    assert [json.loads(line)["outcome"] for line in audit][-1] == "promoted"
    assert processes_mentioning(str(demo_dir)) == []
