"""A project baked with feature_store=feast, as a user gets it: a plain cookiecutter, its own
environment (with Feast), its own tests, its pipeline against the platform, and `make serve`
answering rows sent by entity key from Feast's online store."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from mlops_platform.contract import PlatformOutputs
from mlops_platform.processes import (
    free_port,
    http_ok,
    start_process_group,
    stop_process_group,
    wait_until_healthy,
)
from tests.support.http import post as post_text
from tests.template.baking import Standalone, plain_bake

pytestmark = pytest.mark.slow

FEATURE_STORE_TESTS = ("test_training_reads_each_row_as_it_was_at_its_event_time",
                       "test_the_training_frame_is_the_prepared_split",
                       "test_the_skew_check_finds_a_stale_online_store_and_none_once_materialised")


@pytest.fixture(scope="module")
def feast_project(tmp_path_factory: pytest.TempPathFactory,
                  shared_platform_outputs_file: Path) -> Standalone:
    project = plain_bake(tmp_path_factory.mktemp("feast"), "Tumours", "maturity_level=1",
                         "feature_store=feast", f"model_name=feast-{uuid.uuid4().hex[:8]}",
                         f"platform_outputs={shared_platform_outputs_file}")
    project.run("make", "venv")
    return project


@pytest.fixture(scope="module")
def pipelined(feast_project: Standalone) -> Standalone:
    feast_project.run("make", "pipeline")
    return feast_project


def test_its_own_tests_pass_the_feature_store_ones_included(feast_project: Standalone) -> None:
    result = feast_project.run("env", "PYTEST_ADDOPTS=-v", "make", "test")
    for name in FEATURE_STORE_TESTS:
        assert re.search(rf"test_feature_store\.py::{name} PASSED", result.stdout), result.stdout
    assert "SKIPPED" not in result.stdout and "FAILED" not in result.stdout


def test_the_pipeline_materialises_and_the_model_card_carries_the_skew_figure(
        pipelined: Standalone, shared_platform: PlatformOutputs, tmp_path: Path) -> None:
    project = pipelined.project
    assert "feature_store" in (project / "dvc.lock").read_text()
    card = (project / "reports/model_card.md").read_text()
    assert "## Training/serving skew" in card
    assert re.search(r"0 of 3000 values differ .* for 100 sampled keys", card), card
    run_id = json.loads((project / "models/run.json").read_text())["run_id"]
    client = MlflowClient(shared_platform.tracking_uri)
    assert client.get_run(run_id).data.metrics["feature_skew_share"] == 0.0
    logged = json.loads(Path(client.download_artifacts(
        run_id, "feature_skew.json", str(tmp_path))).read_text())
    assert logged == json.loads((project / "reports/feature_skew.json").read_text())
    assert logged["keys"] == 100 and logged["mismatched"] == 0


@dataclass(frozen=True)
class Served:
    url: str
    feature_server: str


@pytest.fixture(scope="module")
def served(pipelined: Standalone) -> Iterator[Served]:
    port = free_port()
    log = pipelined.project / "serve.log"
    process = start_process_group(["make", "serve", f"PORT={port}"], log, env=pipelined.env,
                                  cwd=pipelined.project)
    feature_server = None
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/v2/health/ready", process, log, timeout=300)
        # mlops-serve prints its banner once MLServer is ready: wait for its last line.
        banner = printed(log, "press Ctrl-C to stop", process)
        found = re.search(r"by key: .* from (http://127\.0\.0\.1:\d+)", banner)
        assert found, banner
        feature_server = found.group(1)
        assert http_ok(f"{feature_server}/health")
        yield Served(f"http://127.0.0.1:{port}", feature_server)
    finally:
        stop_process_group(process.pid)
    # Feast's server runs in a process group of its own: make serve's end must stop it too.
    assert not http_ok(f"{feature_server}/health")


def printed(log: Path, line: str, process: subprocess.Popen, timeout: float = 60) -> str:
    """The log once it holds `line` (the process still running), polled like a health URL."""
    deadline = time.monotonic() + timeout
    while line not in (text := log.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, text
        time.sleep(0.2)
    return text


def post(url: str, body: dict) -> tuple[int, dict]:
    status, text = post_text(url, json.dumps(body))
    return status, json.loads(text)


def test_rows_sent_by_key_are_answered_as_their_features_are(
        pipelined: Standalone, served: Served) -> None:
    project = pipelined.project
    keys = pd.read_parquet(project / "data/features/test_entities.parquet")["row_id"][:5]
    rows = pd.read_csv(project / "data/prepared/test.csv").drop(columns=["target"])[:5]
    status, by_key = post(f"{served.url}/invocations",
                          {"dataframe_records": [{"row_id": int(key)} for key in keys]})
    assert status == 200, by_key
    _, by_features = post(f"{served.url}/invocations",
                          {"dataframe_records": rows.to_dict("records")})
    assert by_key["predictions"] == by_features["predictions"]
    _, explained = post(f"{served.url}/explain", {"dataframe_records": [{"row_id": int(keys[0])}]})
    _, explained_rows = post(f"{served.url}/explain",
                             {"dataframe_records": rows[:1].to_dict("records")})
    assert explained == explained_rows


def test_a_key_the_online_store_lacks_is_refused_by_name(served: Served) -> None:
    status, answer = post(f"{served.url}/invocations", {"dataframe_records": [{"row_id": 10**6}]})
    assert status == 400
    assert "no features for row_id [1000000]" in answer["error"]


def test_the_scorecard_credits_the_skew_check_for_monitoring_3(pipelined: Standalone) -> None:
    card = json.loads(pipelined.run(".venv/bin/mlops-policy", "check", ".", "--json",
                                    check=False).stdout)
    [skew] = [control for control in card["controls"] if control["id"] == "L1-feature-skew"]
    assert skew["status"] == "passed", skew
    [monitoring_3] = [test for test in card["ml_test_score"]["tests"]
                      if test["id"] == "monitoring-3"]
    assert monitoring_3["points"] == 1.0
