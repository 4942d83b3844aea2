"""Command line of the embedded local platform: ``up``, ``down``, ``status``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from mlops_platform.argument_parser import OneLineErrorParser
from mlops_platform.contract import LOCAL_PLATFORM_PORT
from mlops_platform.local_platform import auth, platform, state
from mlops_platform.local_platform.settings import (
    DEFAULT_STATE_DIR,
    LocalPlatformSettings,
    S3ArtifactStore,
)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="mlops-platform", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    up = commands.add_parser("up", help="start the tracking server and write the outputs file")
    down = commands.add_parser("down", help="stop every process `up` started")
    status = commands.add_parser(
        "status", help="say whether the platform is up and where (exit 0 up or down, 1 broken)")
    for sub in (up, down, status):
        sub.add_argument(
            "--state-dir",
            type=Path,
            default=DEFAULT_STATE_DIR,
            help="directory holding all state (default: .platform)",
        )
    up.add_argument(
        "--port",
        type=int,
        default=None,
        help="port on 127.0.0.1, kept for the next `up` (default: the last `up`'s port, else "
        f"{LOCAL_PLATFORM_PORT} if free, else a free one; 0: any free one)",
    )
    up.add_argument("--metrics-port", type=int, default=0,
                    help="port on 127.0.0.1 of the tracking server's Prometheus metrics "
                    "(no login; default: a free one, shown by `up` and `status`)")
    up.add_argument(
        "--backend-store-uri",
        default="",
        help="postgresql:// URL of the backend store (default: SQLite in the state dir)",
    )
    up.add_argument("--s3-bucket", default="", help="proxy artifacts to this S3 bucket")
    up.add_argument("--s3-endpoint-url", default="", help="S3 endpoint (MinIO, moto, ...)")
    up.add_argument("--s3-prefix", default="mlflow", help="key prefix inside the bucket")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for health")
    up.add_argument("--auth", action="store_true",
                    help="basic auth and the champion guard (only the promotion gate's user "
                    "moves champion); credentials in <state-dir>/credentials.json")
    status.add_argument("--json", action="store_true", help="print the outputs as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except platform.PlatformError as err:
        print(f"mlops-platform: error: {err}", file=sys.stderr)
        return 1


def run_up(args: argparse.Namespace) -> int:
    try:
        settings = _settings_from(args)
    except ValidationError as err:
        first = err.errors()[0]
        field = "--" + "-".join(str(part) for part in first["loc"]).replace("_", "-")
        raise platform.PlatformError(f"{field}: {first['msg']}") from err
    result = platform.up(settings)
    outputs = result.outputs
    if result.already_running:
        print(f"already running at {outputs.tracking_uri}; nothing changed")
    else:
        print(f"MLflow tracking server and model registry up at {outputs.tracking_uri}")
    print(f"UI: {outputs.tracking_uri}")
    record = state.read_record(settings.state_dir)
    if record is not None and record.metrics_url:
        print(f"metrics: {record.metrics_url} (MLflow's Prometheus exporter, no login)")
    print(f"platform outputs: {state.outputs_path(settings.state_dir)}")
    if settings.auth:
        print(f"users: {auth.credentials_path(settings.state_dir)} (admin, and the gate's "
              f"{auth.GATE_USERNAME}); clients set MLFLOW_TRACKING_USERNAME/_PASSWORD")
    return 0


def run_down(args: argparse.Namespace) -> int:
    if platform.down(args.state_dir):
        print(f"stopped the local platform of {args.state_dir}")
    else:
        print(f"the local platform of {args.state_dir} was not running")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Up or down is an answer (exit 0); a broken state is an error (exit 1)."""
    record = platform.checked_status(args.state_dir)
    if args.json:
        outputs_file = state.outputs_path(args.state_dir.absolute())
        payload = {"running": record is not None}
        if record is not None and outputs_file.exists():
            payload["outputs"] = json.loads(outputs_file.read_text())
        print(json.dumps(payload, indent=2))
    elif record is None:
        print(f"down: not running (state directory {args.state_dir}); start it with "
              "make platform-up")
    else:
        print(f"up at {record.url} (pid {record.pid})")
        print(f"backend store: {record.backend_store_uri_redacted}")
        print(f"artifact store: {record.artifact_store_uri}")
        if record.metrics_url:
            print(f"metrics: {record.metrics_url}")
    return 0


def _settings_from(args: argparse.Namespace) -> LocalPlatformSettings:
    s3 = None
    if args.s3_bucket:
        s3 = S3ArtifactStore(
            bucket=args.s3_bucket, endpoint_url=args.s3_endpoint_url, prefix=args.s3_prefix
        )
    return LocalPlatformSettings(
        state_dir=args.state_dir,
        port=args.port,
        metrics_port=args.metrics_port,
        backend_store_uri=args.backend_store_uri,
        s3=s3,
        startup_timeout=args.timeout,
        auth=args.auth,
    )


COMMANDS = {"up": run_up, "down": run_down, "status": run_status}
