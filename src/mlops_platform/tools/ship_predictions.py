"""Ship the serving pod's prediction log to the object store (the serving pod's sidecar).

``python -m mlops_platform.tools.ship_predictions /var/log/predictions/predictions.jsonl
--bucket mlflow --prefix monitoring/<model>/served --endpoint-url …`` runs beside MLServer
and every ``--interval`` seconds moves the log's rotated files (``predictions.jsonl.1``,
``.2``, ...) and the current file into an outbox next to them, then uploads each as
``<prefix>/<pod>/<UTC time>-<random>.jsonl`` and deletes it once stored. That prefix is the
``current`` data the drift CronJob reads (``mlops-drift --current s3://<bucket>/<prefix>/``).

The move happens under the serving runtime's own lock (``predictions.jsonl.lock``), so a
rotation or a write never meets a file half taken; the runtime creates a new log on its next
write. An upload that fails stays in the outbox and is retried on the next round; meanwhile
nothing more is taken, so a long outage of the store costs the log's oldest lines (the
runtime's rotation drops them), never the pod's volume or a prediction. SIGTERM ships what
is left before the pod stops.

With ``--labels-prefix monitoring/<model>/labels`` each round also ships the labels sent to
the server (``POST /labels``: ``labels/labels.jsonl`` beside the log) the same way, where the
label intake and the performance check read them.

Each round touches a heartbeat file beside the log; ``--alive-within SECONDS`` is the pod's
probe: exit 0 when the last round started at most that long ago, 1 when the loop is stuck.

``--metrics-port PORT`` serves Prometheus metrics on ``http://<--metrics-host>:PORT/metrics``
(host 127.0.0.1 unless given; a pod passes 0.0.0.0): lines shipped, failed uploads and the
lag, the age of the oldest line not yet shipped (0 when everything is), read when scraped, so
a stuck loop shows as a growing lag. The ``model`` label is ``--model``, or the model of a
``--prefix`` laid out as ``monitoring/<model>/served``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_platform.prediction_log import (
    SERVED_AT,
    labels_path,
    locked,
    log_files,
    model_of_served,
)
from mlops_platform.tools.s3 import ObjectStoreError, client_error, s3_client

# prometheus_client is imported where the sidecar uses it: infra/ and a project's deploy
# program import this module's names without it.
if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

OUTBOX = "outbox"
HEARTBEAT = ".shipper-alive"
DEFAULT_INTERVAL_SECONDS = 60.0


def object_key(prefix: str, pod: str, now: datetime | None = None) -> str:
    """A key no other upload takes: the pod, the UTC time (sortable) and a random suffix."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{prefix.strip('/')}/{pod}/{stamp}-{secrets.token_hex(4)}.jsonl"


def take(log: Path) -> list[Path]:
    """Move the rotated files (oldest first) and the current log into the outbox, under the
    runtime's lock; return everything the outbox holds, oldest first.

    While an earlier upload is pending nothing more is taken: new lines wait in the runtime's
    log, whose rotation bounds it, so the volume holds at most twice the log's bound.
    """
    outbox = log.parent / OUTBOX
    outbox.mkdir(exist_ok=True)
    pending = sorted(outbox.iterdir())
    if pending:
        return pending
    with locked(log):
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}"
        for index, path in enumerate(log_files(log)):
            if path.is_file() and path.stat().st_size > 0:
                path.replace(outbox / f"{stamp}-{index:03d}.jsonl")
    return sorted(outbox.iterdir())


def ship(log: Path, bucket: str, prefix: str, pod: str, upload: Callable[[Path, str], None]
         ) -> tuple[int, list[str]]:
    """One round: take what was logged and upload it; (files shipped, errors of the others)."""
    shipped, errors = 0, []
    for path in take(log):
        key = object_key(prefix, pod)
        try:
            upload(path, key)
        except ObjectStoreError as error:
            errors.append(str(error))
            continue
        path.unlink()
        shipped += 1
    return shipped, errors


def uploader(bucket: str, endpoint_url: str | None) -> Callable[[Path, str], None]:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    client = s3_client(endpoint_url)

    def upload(path: Path, key: str) -> None:
        try:
            client.upload_file(str(path), bucket, key)
        except (BotoCoreError, ClientError, S3UploadFailedError) as error:
            raise ObjectStoreError(f"cannot write s3://{bucket}/{key} at {endpoint_url}: "
                                   f"{client_error(error)}; {path.name} stays in the outbox"
                                   ) from None

    return upload


def unshipped(log: Path) -> list[Path]:
    """The files whose lines are not shipped yet, oldest first: the outbox, the runtime's
    rotated backups (highest number first), then its current log."""
    outbox = log.parent / OUTBOX
    pending = sorted(outbox.iterdir()) if outbox.is_dir() else []
    return [*pending, *log_files(log)]


def lag_seconds(log: Path, now: float | None = None) -> float:
    """Age of the oldest line not yet shipped, from its ``served_at`` (the file's last write
    when the line has none); 0 when every line is shipped."""
    for path in unshipped(log):
        try:
            with path.open("rb") as handle:
                first = handle.readline(1 << 20)
                written = path.stat().st_mtime
        except FileNotFoundError:  # taken or shipped meanwhile
            continue
        if first.strip():
            return max(0.0, (now or time.time()) - (_served_at(first) or written))
    return 0.0


def _served_at(line: bytes) -> float | None:
    try:
        value = json.loads(line).get(SERVED_AT)
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def lines_in(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


class ShipperMetrics:
    """The shipper's collectors, declared in the catalog, for the one model it ships."""

    def __init__(self, log: Path, model: str, registry: CollectorRegistry) -> None:
        from mlops_platform.monitoring.catalog import SHIPPER_FAILURES, SHIPPER_LAG, SHIPPER_LINES
        from mlops_platform.monitoring.metric_collectors import collector_of

        self.lines = collector_of(SHIPPER_LINES, registry).labels(model=model)
        self.failures = collector_of(SHIPPER_FAILURES, registry).labels(model=model)
        collector_of(SHIPPER_LAG, registry).labels(model=model).set_function(
            lambda: lag_seconds(log))

    def counting(self, upload: Callable[[Path, str], None]) -> Callable[[Path, str], None]:
        """``upload`` that counts the lines it stores and the attempts that fail."""

        def counted(path: Path, key: str) -> None:
            lines = lines_in(path)
            try:
                upload(path, key)
            except ObjectStoreError:
                self.failures.inc()
                raise
            self.lines.inc(lines)

        return counted


def serve_metrics(log: Path, model: str, host: str, port: int) -> ShipperMetrics:
    """The metrics server (a daemon thread) on ``host:port``; OSError if it cannot bind."""
    from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    metrics = ShipperMetrics(log, model, registry)
    start_http_server(port, addr=host, registry=registry)
    return metrics


def beat(log: Path) -> None:
    (log.parent / HEARTBEAT).touch()


def seconds_since_beat(log: Path) -> float | None:
    try:
        return time.time() - (log.parent / HEARTBEAT).stat().st_mtime
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Destination:
    """One log and where its lines go."""

    log: Path
    prefix: str
    upload: Callable[[Path, str], None]


def run(log: Path, bucket: str, prefix: str, pod: str, interval: float,
        upload: Callable[[Path, str], None], stopping: threading.Event,
        labels: Destination | None = None) -> None:
    """Ship every ``interval`` seconds until ``stopping`` is set, then once more; the
    labels sent to the server too, when ``labels`` says where."""
    destinations = [Destination(log, prefix, upload), *([labels] if labels else [])]
    while True:
        beat(log)
        stopped = stopping.wait(interval)
        beat(log)
        for destination in destinations:
            _ship_round(destination, bucket, pod)
        if stopped:
            return


def _ship_round(destination: Destination, bucket: str, pod: str) -> None:
    if not destination.log.parent.is_dir():  # no label has come yet
        return
    shipped, errors = ship(destination.log, bucket, destination.prefix, pod, destination.upload)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if shipped:
        print(f"shipped {shipped} file(s) to "
              f"s3://{bucket}/{destination.prefix.strip('/')}/{pod}/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.tools.ship_predictions",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", type=Path, help="the serving runtime's predictions.jsonl")
    parser.add_argument("--alive-within", type=float, metavar="SECONDS",
                        help="probe only: exit 0 if a round started at most SECONDS ago")
    parser.add_argument("--bucket")
    parser.add_argument("--prefix", help="key prefix, e.g. monitoring/<model>/served")
    parser.add_argument("--labels-prefix", help="ship the labels sent to the server "
                        "(labels/labels.jsonl beside the log) under this key prefix, e.g. "
                        "monitoring/<model>/labels (unset: labels stay in the pod)")
    parser.add_argument("--endpoint-url", help="the S3 API's address (unset: AWS S3)")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_SECONDS,
                        help="seconds between two rounds (the longest the store lags behind)")
    parser.add_argument("--pod", default=os.environ.get("POD_NAME") or socket.gethostname(),
                        help="this pod's name, part of every key (default: POD_NAME, hostname)")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="serve Prometheus metrics on this port (unset: none)")
    parser.add_argument("--metrics-host", default="127.0.0.1",
                        help="address of the metrics server (a pod passes 0.0.0.0)")
    parser.add_argument("--model", help="the `model` label of the metrics (default: <model> "
                        "of a --prefix monitoring/<model>/served)")
    args = parser.parse_args(argv)
    if args.alive_within is not None:
        return probe(args.log, args.alive_within)
    if not (args.bucket and args.prefix):
        parser.error("--bucket and --prefix are required (where the log goes)")
    if args.interval <= 0:
        parser.error(f"--interval {args.interval} must be positive (seconds between rounds)")
    model = args.model or model_of_served(args.prefix)
    if args.metrics_port is not None and not model:
        parser.error(f"--model is needed with --metrics-port (the model label): --prefix "
                     f"{args.prefix} does not name it as monitoring/<model>/served")
    if not args.log.parent.is_dir():
        print(f"error: {args.log.parent} does not exist: mount the volume the serving "
              "runtime writes its prediction log to", file=sys.stderr)
        return 1
    upload = uploader(args.bucket, args.endpoint_url)
    # Labels are not predictions: the metrics count only the log's lines.
    labels = Destination(Path(labels_path(str(args.log))), args.labels_prefix, upload) \
        if args.labels_prefix else None
    if args.metrics_port is not None:
        try:
            upload = serve_metrics(args.log, model, args.metrics_host,
                                   args.metrics_port).counting(upload)
        except OSError as error:
            print(f"error: cannot serve metrics on {args.metrics_host}:{args.metrics_port}: "
                  f"{error}; choose a free --metrics-port", file=sys.stderr)
            return 1
        print(f"metrics on http://{args.metrics_host}:{args.metrics_port}/metrics")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print(f"shipping {args.log} to s3://{args.bucket}/{args.prefix.strip('/')}/{args.pod}/ "
          f"every {args.interval:g} s", flush=True)
    run(args.log, args.bucket, args.prefix, args.pod, args.interval, upload, stopping, labels)
    return 0


def probe(log: Path, within: float) -> int:
    age = seconds_since_beat(log)
    if age is None or age > within:
        state = "never started" if age is None else f"last round {age:.0f} s ago"
        print(f"not alive: {state} (limit {within:g} s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
