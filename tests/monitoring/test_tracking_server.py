"""The tracking server's wrapper: a fresh exporter folder, the exporter on, the child's status
and whether it runs, on the metrics port."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mlops_platform.monitoring.catalog import TRACKING_SERVER_UP
from mlops_platform.processes import free_port, stop_process_group

CHILD = ("import os, sys; folder = os.environ['MLFLOW_EXPOSE_PROMETHEUS']; "
         "sys.exit(0 if os.listdir(folder) == [] "
         "and os.environ['PROMETHEUS_MULTIPROC_DIR'] == folder else 7)")


def wrapped(folder: Path, *command: str, port: int | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlops_platform.monitoring.tracking_server", "--metrics-port",
         str(port or free_port()), "--metrics-dir", str(folder), "--", *command],
        capture_output=True, text=True, timeout=60)


def test_the_server_starts_with_the_exporter_on_an_emptied_folder(tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"an earlier run's counts")
    assert wrapped(folder, sys.executable, "-c", CHILD).returncode == 0
    assert wrapped(folder, sys.executable, "-c", "raise SystemExit(3)").returncode == 3


def test_a_busy_metrics_port_stops_before_the_server_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = wrapped(tmp_path / "prometheus", sys.executable, "-c", "print('started')",
                           port=port)
    assert finished.returncode == 1 and "started" not in finished.stdout
    assert finished.stderr.startswith(f"error: cannot serve the tracking server's metrics on "
                                      f"127.0.0.1:{port}")


def scraped_up(port: int, deadline: float) -> str:
    """The value of `mlops_tracking_server_up` once the wrapper reports its server running."""
    while True:
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx.TransportError:
            text = ""
        found = re.search(rf"^{TRACKING_SERVER_UP.name} (\S+)$", text, re.MULTILINE)
        if (found and found.group(1) == "1.0") or time.monotonic() > deadline:
            return found.group(1) if found else text
        time.sleep(0.1)  # polling interval, not a synchronisation


def test_the_metrics_port_says_whether_the_server_runs(tmp_path: Path) -> None:
    port = free_port()
    # The child runs until its standard input closes.
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "mlops_platform.monitoring.tracking_server", "--metrics-port",
         str(port), "--metrics-dir", str(tmp_path / "prometheus"), "--", sys.executable, "-c",
         "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        assert scraped_up(port, time.monotonic() + 30) == "1.0"
        assert wrapper.stdin is not None
        wrapper.stdin.close()
        assert wrapper.wait(timeout=30) == 0
    finally:
        stop_process_group(wrapper.pid)
