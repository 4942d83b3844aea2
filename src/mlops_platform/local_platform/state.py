"""The files in the state directory that say what runs and where."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel

from mlops_platform.contract import LOCAL_OUTPUTS_FILE, PlatformOutputsError, read_outputs
from mlops_platform.processes import process_is_running


class ServerRecord(BaseModel):
    """What `up` started, so that `status` and `down` find it again."""

    pid: int
    pgid: int
    url: str
    backend_store_uri_redacted: str
    artifact_store_uri: str
    # MLflow's Prometheus exporter (empty in a record written before it existed).
    metrics_url: str = ""


def record_path(state_dir: Path) -> Path:
    return state_dir / "server.json"


def outputs_path(state_dir: Path) -> Path:
    return state_dir / LOCAL_OUTPUTS_FILE


def log_path(state_dir: Path) -> Path:
    return state_dir / "logs" / "mlflow-server.log"


def metrics_dir(state_dir: Path) -> Path:
    """Where MLflow's exporter keeps its per-process files (emptied at each `up`)."""
    return state_dir / "prometheus"


def read_record(state_dir: Path) -> ServerRecord | None:
    try:
        return ServerRecord(**json.loads(record_path(state_dir).read_text()))
    except (OSError, ValueError):
        return None


def write_record(state_dir: Path, record: ServerRecord) -> None:
    record_path(state_dir).write_text(record.model_dump_json(indent=2) + "\n")


def running_record(state_dir: Path) -> ServerRecord | None:
    """The record of a server that still runs and is ours, else None (stale files go)."""
    record = read_record(state_dir)
    if record is None:
        return None
    if is_running(record):
        return record
    forget(state_dir)
    return None


def is_running(record: ServerRecord) -> bool:
    """Whether the recorded process still runs and is the MLflow server (not a recycled pid)."""
    return process_is_running(record.pid) and _is_mlflow_server(record.pid)


def remembered_port(state_dir: Path) -> int | None:
    """The port of the last `up`: its outputs file outlives `down`, projects point there."""
    try:
        return urlsplit(read_outputs(outputs_path(state_dir)).tracking_uri).port
    except (PlatformOutputsError, ValueError):
        return None


def forget(state_dir: Path) -> None:
    """Forget what runs; the outputs file stays, so the address is kept."""
    record_path(state_dir).unlink(missing_ok=True)


def _is_mlflow_server(pid: int) -> bool:
    # A recycled pid must never be stopped by `down`.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(part.endswith(b"mlflow") for part in cmdline) and b"server" in cmdline
