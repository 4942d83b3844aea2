"""Run the MLflow tracking server with its Prometheus exporter, the metrics on a port of their own.

``python -m mlops_platform.monitoring.tracking_server --metrics-port 9103 --metrics-host 0.0.0.0
--metrics-dir /tmp/prometheus -- mlflow server --host 0.0.0.0 --port 5000 ...``

MLflow's exporter (``mlflow server --expose-prometheus DIR``) answers ``/metrics`` on the API
port, and behind the basic-auth app (``--app-name champion-guard``) only the admin may read it:
MLflow 3.17 refuses every other user a route that has no permission rule (fail-closed), so a
scraper would need the admin's password. This command starts the server as its child with the
exporter on (``MLFLOW_EXPOSE_PROMETHEUS``) and serves the same series, every worker's, read
from the exporter's multiprocess files, on a metrics port without login that only the
scraper may reach. The API port and its auth stay as they are. Beside them it exports
``mlops_tracking_server_up``: whether the server's process runs.

The directory is emptied first (prometheus_client's rule for multiprocess mode: files of an
earlier run would add to this one's). SIGTERM and SIGINT go on to the server; the exit status
is the server's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mlops_platform.monitoring.catalog import TRACKING_SERVER_UP

# mlflow server's environment variable for --expose-prometheus.
EXPOSE_ENV = "MLFLOW_EXPOSE_PROMETHEUS"
MODULE = "mlops_platform.monitoring.tracking_server"


def wrapped(python: str, server: Sequence[str], *, metrics_port: int, metrics_host: str,
            metrics_dir: str) -> list[str]:
    """The command line that runs ``server`` (``mlflow server ...``) under this wrapper: how
    the local platform and the tracking server's pod start it."""
    return [python, "-m", MODULE, "--metrics-port", str(metrics_port),
            "--metrics-host", metrics_host, "--metrics-dir", metrics_dir, "--", *server]


def fresh(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


class ServerProcess:
    """The MLflow server's process, as the `mlops_tracking_server_up` gauge it is scraped as."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        yield GaugeMetricFamily(TRACKING_SERVER_UP.name, TRACKING_SERVER_UP.help,
                                value=float(self.running()))


def serve_metrics(folder: Path, host: str, port: int, server: ServerProcess) -> None:
    """Every process's series under ``folder`` and whether ``server`` runs, on ``host:port``
    (a daemon thread)."""
    # Here, not at the top: the local platform and infra/ import wrapped() without them.
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    registry.register(server)
    start_http_server(port, addr=host, registry=registry)


def run_server(command: Sequence[str], folder: Path, server: ServerProcess) -> int:
    environment = {**os.environ, EXPOSE_ENV: str(folder), "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    server.process = child = subprocess.Popen(list(command), env=environment)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _: child.send_signal(received))
    code = child.wait()
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics-port", type=int, required=True, metavar="PORT")
    parser.add_argument("--metrics-host", default="127.0.0.1",
                        help="address of the metrics server (a pod passes 0.0.0.0)")
    parser.add_argument("--metrics-dir", type=Path, required=True, metavar="DIR",
                        help="a writable folder for the exporter's files, emptied at start")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- then the server's command line (mlflow server ...)")
    args = parser.parse_args(argv)
    args.command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not args.command:
        parser.error("give the server's command after --, e.g. -- mlflow server --port 5000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    server = ServerProcess()
    try:
        fresh(args.metrics_dir)
        serve_metrics(args.metrics_dir, args.metrics_host, args.metrics_port, server)
    except OSError as error:
        print(f"error: cannot serve the tracking server's metrics on {args.metrics_host}:"
              f"{args.metrics_port} from {args.metrics_dir}: {error}", file=sys.stderr)
        return 1
    print(f"tracking server metrics on http://{args.metrics_host}:{args.metrics_port}/metrics",
          flush=True)
    return run_server(args.command, args.metrics_dir, server)


if __name__ == "__main__":
    raise SystemExit(main())
