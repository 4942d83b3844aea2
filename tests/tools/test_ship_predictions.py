"""The serving pod's log shipper against moto's S3 server (a real S3 endpoint, in memory)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.samples import Sample

from mlops_platform import drift
from mlops_platform.monitoring.catalog import SHIPPER_FAILURES, SHIPPER_LAG, SHIPPER_LINES
from mlops_platform.prediction_log import label_lines, labels_path
from mlops_platform.processes import free_port, start_process_group, stop_process_group
from mlops_platform.tools import ship_predictions
from mlops_platform.tools.s3 import ObjectStoreError
from tests.support.scrape import scrape_until, values
from tests.support.servers import S3Endpoint, running_moto_s3

BUCKET = "served"
PREFIX = "monitoring/model-a/served"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    with running_moto_s3(tmp_path_factory.mktemp("moto")) as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET)
        yield endpoint


@pytest.fixture(autouse=True)
def credentials(s3: S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)


def stored(s3: S3Endpoint, prefix: str) -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1")
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {item["Key"]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            for item in listed}


def write_log(log: Path, rows: range) -> None:
    log.write_text("".join(json.dumps({"x": float(row), "served_at": 0.0}) + "\n"
                           for row in rows))


def test_rotated_and_current_logs_reach_the_store_once_under_keys_that_differ(
        s3: S3Endpoint, tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    write_log(tmp_path / "predictions.jsonl.2", range(0, 3))
    write_log(tmp_path / "predictions.jsonl.1", range(3, 5))
    write_log(log, range(5, 6))
    prefix = f"{PREFIX}/once"
    upload = ship_predictions.uploader(BUCKET, s3.url)

    assert ship_predictions.ship(log, BUCKET, prefix, "pod-1", upload) == (3, [])
    assert ship_predictions.ship(log, BUCKET, prefix, "pod-1", upload) == (0, [])

    objects = stored(s3, prefix)
    assert len(objects) == 3
    assert all(key.startswith(f"{prefix}/pod-1/") and key.endswith(".jsonl") for key in objects)
    rows = [json.loads(line)["x"] for key in sorted(objects)
            for line in objects[key].decode().splitlines()]
    assert rows == [float(row) for row in range(6)]  # oldest rotation first, nothing twice
    assert not list(tmp_path.glob("predictions.jsonl*[0-9]")) and not log.exists()


def test_what_was_shipped_is_what_the_drift_check_reads(s3: S3Endpoint, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3.url)
    log = tmp_path / "predictions.jsonl"
    prefix = f"{PREFIX}/drift"
    upload = ship_predictions.uploader(BUCKET, s3.url)
    for start in (0, 10):
        write_log(log, range(start, start + 10))
        ship_predictions.ship(log, BUCKET, prefix, "pod-1", upload)
    sample = drift.read_table(f"s3://{BUCKET}/{prefix}/", "current")
    assert (sample.total_rows, sample.files) == (20, 2)


def test_object_keys_never_repeat_even_in_the_same_microsecond() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    keys = {ship_predictions.object_key(PREFIX, "pod-1", now) for _ in range(200)}
    assert len(keys) == 200
    assert all(key.startswith(f"{PREFIX}/pod-1/20260102T030405.000006Z-") for key in keys)


def test_a_store_that_refuses_keeps_the_file_and_takes_nothing_more(tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    write_log(log, range(3))
    upload = ship_predictions.uploader(BUCKET, f"http://127.0.0.1:{free_port()}")

    shipped, errors = ship_predictions.ship(log, BUCKET, PREFIX, "pod-1", upload)
    assert shipped == 0 and len(errors) == 1
    assert "stays in the outbox" in errors[0]
    write_log(log, range(3, 5))  # logged while the store is down: stays in the runtime's log
    (pending,) = ship_predictions.take(log)
    assert len(pending.read_text().splitlines()) == 3
    assert len(log.read_text().splitlines()) == 2


def test_the_log_is_taken_under_the_runtime_lock(tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    write_log(log, range(2))
    taken: list[list[Path]] = []
    with open(f"{log}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        worker = threading.Thread(target=lambda: taken.append(ship_predictions.take(log)))
        worker.start()
        worker.join(timeout=0.5)  # bounded wait for a thread that must stay blocked
        assert worker.is_alive() and log.exists()
    worker.join()
    assert len(taken[0]) == 1 and not log.exists()


def test_sigterm_ships_what_is_left(s3: S3Endpoint, tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    write_log(log, range(4))
    stopping = threading.Event()
    stopping.set()  # as the SIGTERM handler does: one last round, then return
    prefix = f"{PREFIX}/last"
    ship_predictions.run(log, BUCKET, prefix, "pod-1", 3600.0,
                         ship_predictions.uploader(BUCKET, s3.url), stopping)
    assert len(stored(s3, prefix)) == 1


def test_labels_sent_to_the_server_are_shipped_under_their_own_prefix(
        s3: S3Endpoint, tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    write_log(log, range(2))
    labels = Path(labels_path(str(log)))
    labels.parent.mkdir()
    labels.write_bytes(label_lines([("a", 1), ("b", 0)], 5.0))
    stopping = threading.Event()
    stopping.set()
    upload = ship_predictions.uploader(BUCKET, s3.url)
    ship_predictions.run(log, BUCKET, f"{PREFIX}/with-labels", "pod-1", 3600.0, upload, stopping,
                         ship_predictions.Destination(labels, f"{PREFIX}/labels", upload))
    assert len(stored(s3, f"{PREFIX}/with-labels")) == 1
    assert len(stored(s3, f"{PREFIX}/labels")) == 1
    assert not labels.exists()


def test_a_missing_log_folder_is_one_line_with_exit_1(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent" / "predictions.jsonl"
    assert ship_predictions.main([str(missing), "--bucket", BUCKET, "--prefix", PREFIX]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {missing.parent} does not exist") and err.count("\n") == 1


def test_the_shipper_error_names_the_object_it_could_not_write(s3: S3Endpoint,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("{}\n")
    upload = ship_predictions.uploader("no-such-bucket", s3.url)
    with pytest.raises(ObjectStoreError, match=r"s3://no-such-bucket/k .*NoSuchBucket"):
        upload(path, "k")


@pytest.mark.slow  # a thousand objects through moto: a minute on two busy cores
def test_the_drift_check_reads_more_shipped_objects_than_one_listing_returns(
        s3: S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A day of one-minute rounds passes S3's 1000 keys per listing call."""
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3.url)
    client = boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1")
    prefix = f"{PREFIX}/day"
    for index in range(1001):
        client.put_object(Bucket=BUCKET, Key=ship_predictions.object_key(prefix, "pod-1"),
                          Body=json.dumps({"x": float(index)}).encode() + b"\n")
    sample = drift.read_table(f"s3://{BUCKET}/{prefix}/", "current")
    assert (sample.total_rows, sample.files) == (1001, 1001)


def test_the_probe_passes_while_rounds_run_and_fails_when_they_stop(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "predictions.jsonl"
    probe = [str(log), "--alive-within", "60"]
    assert ship_predictions.main(probe) == 1
    assert "never started" in capsys.readouterr().err
    stopping = threading.Event()
    stopping.set()
    ship_predictions.run(log, BUCKET, PREFIX, "pod-1", 3600.0, lambda path, key: None, stopping)
    assert ship_predictions.main(probe) == 0
    heartbeat = tmp_path / ship_predictions.HEARTBEAT
    stale = heartbeat.stat().st_mtime - 120
    os.utime(heartbeat, (stale, stale))
    assert ship_predictions.main(probe) == 1
    assert "last round 120 s ago (limit 60 s)" in capsys.readouterr().err


def test_the_lag_is_the_age_of_the_oldest_line_not_shipped(tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    assert ship_predictions.lag_seconds(log, now=1000.0) == 0.0  # nothing logged yet
    log.write_text(json.dumps({"x": 1.0, "served_at": 990.0}) + "\n")
    (tmp_path / "predictions.jsonl.1").write_text(json.dumps({"served_at": 900.0}) + "\n")
    assert ship_predictions.lag_seconds(log, now=1000.0) == 100.0  # the rotated file first
    pending = ship_predictions.take(log)
    assert ship_predictions.lag_seconds(log, now=1000.0) == 100.0  # waiting in the outbox
    for path in pending:
        path.unlink()
    assert ship_predictions.lag_seconds(log, now=1000.0) == 0.0


def test_a_line_without_its_time_ages_from_its_file(tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    log.write_text("{}\n")
    os.utime(log, (500.0, 500.0))
    assert ship_predictions.lag_seconds(log, now=1000.0) == 500.0


def test_metrics_count_lines_stored_and_uploads_refused(s3: S3Endpoint, tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    registry = CollectorRegistry()
    metrics = ship_predictions.ShipperMetrics(log, "model-a", registry)
    write_log(log, range(4))
    good = metrics.counting(ship_predictions.uploader(BUCKET, s3.url))
    assert ship_predictions.ship(log, BUCKET, f"{PREFIX}/counted", "pod-1", good) == (1, [])
    write_log(log, range(2))
    refused = metrics.counting(ship_predictions.uploader("no-such-bucket", s3.url))
    ship_predictions.ship(log, BUCKET, PREFIX, "pod-1", refused)

    def sample(metric) -> float | None:
        return registry.get_sample_value(metric.name, {"model": "model-a"})

    assert (sample(SHIPPER_LINES), sample(SHIPPER_FAILURES)) == (4.0, 1.0)
    assert sample(SHIPPER_LAG) > 0  # the refused lines wait in the outbox


@pytest.fixture
def sidecar(s3: S3Endpoint, tmp_path: Path) -> Iterator[Callable[[float], Sidecar]]:
    """The shipper as the pod runs it, its metrics on a free port; stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(interval: float) -> Sidecar:
        log = tmp_path / "log" / "predictions.jsonl"
        port, output = free_port(), tmp_path / "shipper.log"
        started.append(start_process_group(
            [sys.executable, "-m", "mlops_platform.tools.ship_predictions", str(log),
             "--bucket", BUCKET, "--prefix", PREFIX, "--endpoint-url", s3.url,
             "--interval", f"{interval}", "--metrics-port", str(port)],
            output, env=s3.environment()))
        return Sidecar(started[-1], f"http://127.0.0.1:{port}/metrics", output)

    try:
        yield start
    finally:
        for process in started:
            stop_process_group(process.pid)


@dataclass(frozen=True)
class Sidecar:
    process: subprocess.Popen[bytes]
    metrics_url: str
    output: Path

    def scrape_until(self, done: Callable[[list[Sample]], bool]) -> list[Sample]:
        return scrape_until(self.metrics_url, done, self.process, self.output)


MODEL_A = {"model": "model-a"}  # the model of --prefix monitoring/model-a/served


def log_an_hour_ago(tmp_path: Path, rows: int) -> float:
    (tmp_path / "log").mkdir()
    served_at = time.time() - 3600
    (tmp_path / "log" / "predictions.jsonl").write_text("".join(
        json.dumps({"x": float(row), "served_at": served_at}) + "\n" for row in range(rows)))
    return served_at


def test_the_sidecar_serves_the_lag_of_what_it_has_not_shipped(sidecar, tmp_path: Path) -> None:
    served_at = log_an_hour_ago(tmp_path, 7)
    shipper = sidecar(3600.0)  # its first round is an hour away
    samples = shipper.scrape_until(lambda samples: values(samples, SHIPPER_LAG.name, **MODEL_A))
    (lag,) = values(samples, SHIPPER_LAG.name, **MODEL_A)
    assert 3600 <= lag <= time.time() - served_at
    assert values(samples, SHIPPER_LINES.name, **MODEL_A) == [0.0]


def test_the_sidecar_counts_shipped_lines_until_caught_up(sidecar, tmp_path: Path) -> None:
    log_an_hour_ago(tmp_path, 7)
    shipper = sidecar(0.2)
    # Lag 0 once the shipped file left the outbox; its lines are counted when the round ends,
    # a moment later: a scrape in between sees both at 0, so wait for the count too.
    samples = shipper.scrape_until(
        lambda samples: values(samples, SHIPPER_LAG.name, **MODEL_A) == [0.0]
        and values(samples, SHIPPER_LINES.name, **MODEL_A) == [7.0])
    assert values(samples, SHIPPER_LINES.name, **MODEL_A) == [7.0]
    assert values(samples, SHIPPER_FAILURES.name, **MODEL_A) == [0.0]
    assert values(samples, "process_start_time_seconds")


def test_metrics_need_a_model_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        ship_predictions.main([str(tmp_path / "predictions.jsonl"), "--bucket", BUCKET,
                               "--prefix", "elsewhere", "--metrics-port", str(free_port())])
    assert exited.value.code == 2
    assert "--model is needed with --metrics-port" in capsys.readouterr().err


def test_a_busy_metrics_port_is_one_line_with_exit_1(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = ship_predictions.main([str(tmp_path / "predictions.jsonl"), "--bucket", BUCKET,
                                      "--prefix", PREFIX, "--metrics-port", str(port)])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot serve metrics on 127.0.0.1:{port}")
    assert err.count("\n") == 1
