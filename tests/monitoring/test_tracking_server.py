"""The tracking server's wrapper: a fresh exporter folder, the exporter on, the child's status."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from mlops_platform.processes import free_port

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
