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

Each round touches a heartbeat file beside the log; ``--alive-within SECONDS`` is the pod's
probe: exit 0 when the last round started at most that long ago, 1 when the loop is stuck.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mlops_platform.tools.s3 import ObjectStoreError, client_error, s3_client

OUTBOX = "outbox"
HEARTBEAT = ".shipper-alive"
DEFAULT_INTERVAL_SECONDS = 60.0
# The runtime's rotated backups: predictions.jsonl.1, .2, ...
_ROTATED = re.compile(r"\.\d+$")
_SERVED_INPUTS = re.compile(r"(?:^|/)monitoring/([^/]+)/served/?$")


def served_inputs_prefix(model_name: str) -> str:
    """Where a model's served inputs go in the bucket (beside its drift reports)."""
    return f"monitoring/{model_name}/served"


def model_of_served_inputs(location: str) -> str | None:
    """The model whose served inputs a prefix or URI holds (``served_inputs_prefix``'s
    inverse), or None when it does not follow that layout."""
    found = _SERVED_INPUTS.search(location)
    return found.group(1) if found else None


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
    with open(f"{log}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rotated = sorted((path for path in log.parent.glob(f"{log.name}.*")
                          if _ROTATED.search(path.name)),
                         key=lambda path: -int(path.name.rsplit(".", 1)[1]))
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}"
        for index, path in enumerate([*rotated, log]):
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


def beat(log: Path) -> None:
    (log.parent / HEARTBEAT).touch()


def seconds_since_beat(log: Path) -> float | None:
    try:
        return time.time() - (log.parent / HEARTBEAT).stat().st_mtime
    except FileNotFoundError:
        return None


def run(log: Path, bucket: str, prefix: str, pod: str, interval: float,
        upload: Callable[[Path, str], None], stopping: threading.Event) -> None:
    """Ship every ``interval`` seconds until ``stopping`` is set, then once more."""
    while True:
        beat(log)
        stopped = stopping.wait(interval)
        beat(log)
        shipped, errors = ship(log, bucket, prefix, pod, upload)
        for error in errors:
            print(f"error: {error}", file=sys.stderr)
        if shipped:
            print(f"shipped {shipped} file(s) to s3://{bucket}/{prefix.strip('/')}/{pod}/")
        if stopped:
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.tools.ship_predictions",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", type=Path, help="the serving runtime's predictions.jsonl")
    parser.add_argument("--alive-within", type=float, metavar="SECONDS",
                        help="probe only: exit 0 if a round started at most SECONDS ago")
    parser.add_argument("--bucket")
    parser.add_argument("--prefix", help="key prefix, e.g. monitoring/<model>/served")
    parser.add_argument("--endpoint-url", help="the S3 API's address (unset: AWS S3)")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_SECONDS,
                        help="seconds between two rounds (the longest the store lags behind)")
    parser.add_argument("--pod", default=os.environ.get("POD_NAME") or socket.gethostname(),
                        help="this pod's name, part of every key (default: POD_NAME, hostname)")
    args = parser.parse_args(argv)
    if args.alive_within is not None:
        return probe(args.log, args.alive_within)
    if not (args.bucket and args.prefix):
        parser.error("--bucket and --prefix are required (where the log goes)")
    if args.interval <= 0:
        parser.error(f"--interval {args.interval} must be positive (seconds between rounds)")
    if not args.log.parent.is_dir():
        print(f"error: {args.log.parent} does not exist: mount the volume the serving "
              "runtime writes its prediction log to", file=sys.stderr)
        return 1
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print(f"shipping {args.log} to s3://{args.bucket}/{args.prefix.strip('/')}/{args.pod}/ "
          f"every {args.interval:g} s")
    run(args.log, args.bucket, args.prefix, args.pod, args.interval,
        uploader(args.bucket, args.endpoint_url), stopping)
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
