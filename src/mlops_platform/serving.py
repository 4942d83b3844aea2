"""Local serving: a registered model on 127.0.0.1 through MLServer and its MLflow runtime.

The same runtime the platform's ModelServing component deploys on Kubernetes
(``mlserver_mlflow.MLflowRuntime``), extended by ``serving_runtime`` with a sampled
prediction log under the project's ``monitoring/`` (the current data for drift) and
400s that name the bad column or type. MLServer lives in a virtual environment of its
own (it pins fastapi, starlette and protobuf below the platform's), so it runs as a
separate process group; ``start_serving`` always stops it.

``mlops-serve --model-uri models:/name@champion --port 0 --log-dir monitoring/``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops_platform.processes import (
    LOOPBACK,
    ServerStartError,
    free_port,
    start_process_group,
    stop_process_group,
    wait_until_healthy,
)

MLSERVER_ENV_VAR = "MLOPS_MLSERVER"
# MLServer pins older fastapi/starlette/protobuf, so it lives in an environment of its own
# beside the caller's: the platform repository and every generated project build it there.
DEFAULT_MLSERVER = Path(".venv-mlserver") / "bin" / "mlserver"
RUNTIME_MODULE = "mlops_serving_runtime"
RUNTIME_CLASS = "LoggingMLflowRuntime"
PREDICTION_LOG_NAME = "predictions.jsonl"
SERVED_MODEL_NAME = "model"


class ServingError(RuntimeError):
    """Serving could not start; the message names the problem and the fix."""


@dataclass(frozen=True)
class ServingSettings:
    model_uri: str
    log_dir: Path = Path("monitoring")
    port: int = 0
    sample_rate: float = 1.0
    workers: int = 1
    max_batch_size: int = 0
    max_batch_time: float = 0.0
    mlserver: Path | None = None
    start_timeout: float = 90.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ServingError(
                f"sample_rate {self.sample_rate} is out of range: give a share between 0 and 1 "
                "(1.0 logs every request, 0.1 one in ten, 0 none)"
            )
        if self.workers < 0:
            raise ServingError(f"workers {self.workers} is negative: give 0 (in-process) or more")
        if self.max_batch_size < 0 or self.max_batch_time < 0:
            raise ServingError("max_batch_size and max_batch_time must be 0 (off) or positive")


@dataclass(frozen=True)
class ServingHandle:
    url: str
    model_uri: str
    model_path: Path
    prediction_log: Path
    pid: int
    server_log: Path

    @property
    def invocations_url(self) -> str:
        return f"{self.url}/invocations"

    @property
    def infer_url(self) -> str:
        return f"{self.url}/v2/models/{SERVED_MODEL_NAME}/infer"

    @property
    def ready_url(self) -> str:
        return f"{self.url}/v2/health/ready"

    @property
    def live_url(self) -> str:
        return f"{self.url}/v2/health/live"


def mlserver_executable(explicit: Path | None = None) -> Path:
    """The ``mlserver`` command: explicit, $MLOPS_MLSERVER, .venv-mlserver, or on PATH."""
    candidates = [explicit, os.environ.get(MLSERVER_ENV_VAR), DEFAULT_MLSERVER]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).absolute()
    on_path = shutil.which("mlserver")
    if on_path:
        return Path(on_path)
    raise ServingError(
        "MLServer is not installed: run `make .venv-mlserver/.installed` (it builds "
        f"{DEFAULT_MLSERVER.parent.parent} from the hashed lock), or set {MLSERVER_ENV_VAR} "
        "to an `mlserver` executable that has mlserver-mlflow"
    )


def download_model(model_uri: str, destination: Path) -> Path:
    """Fetch the model from the registry once, so MLServer needs no tracking credentials."""
    import mlflow
    from mlflow.exceptions import MlflowException

    if not os.environ.get("MLFLOW_TRACKING_URI") and model_uri.startswith("models:/"):
        raise ServingError(
            f"MLFLOW_TRACKING_URI is not set, so {model_uri} cannot be resolved: export the "
            "tracking_uri of platform_outputs.json (the project's `make serve` does)"
        )
    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=model_uri, dst_path=str(destination)
        )
    except MlflowException as error:
        raise ServingError(
            f"cannot fetch {model_uri}: {error.message} (check the model name and its alias "
            "or version in the registry)"
        ) from error
    return Path(local)


def write_mlserver_config(
    settings: ServingSettings, work_dir: Path, model_path: Path, prediction_log: Path
) -> tuple[Path, int]:
    """Server and model settings for ``mlserver start``; returns the folder and HTTP port."""
    config_dir = work_dir / "mlserver"
    config_dir.mkdir(parents=True, exist_ok=True)
    port = settings.port or free_port()
    server = {
        "host": LOOPBACK,
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "metrics_dir": str(work_dir / "metrics"),
        "environments_dir": str(work_dir / "envs"),
        "parallel_workers": settings.workers,
        "debug": False,
        "load_models_at_startup": True,
    }
    model = {
        "name": SERVED_MODEL_NAME,
        "implementation": f"{RUNTIME_MODULE}.{RUNTIME_CLASS}",
        "max_batch_size": settings.max_batch_size,
        "max_batch_time": settings.max_batch_time,
        "parameters": {
            "uri": str(model_path),
            "extra": {"prediction_log": str(prediction_log), "sample_rate": settings.sample_rate},
        },
    }
    (config_dir / "settings.json").write_text(json.dumps(server, indent=2))
    (config_dir / "model-settings.json").write_text(json.dumps(model, indent=2))
    return config_dir, port


def runtime_path(work_dir: Path) -> Path:
    """A folder holding only the runtime module, so MLServer's path gets nothing else of ours."""
    folder = work_dir / "runtime"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("serving_runtime.py"), folder / f"{RUNTIME_MODULE}.py")
    return folder


@contextlib.contextmanager
def start_serving(
    settings: ServingSettings, work_dir: Path | None = None
) -> Iterator[ServingHandle]:
    """Serve ``settings.model_uri`` until the block ends; the server is always stopped."""
    executable = mlserver_executable(settings.mlserver)
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mlops-serve-")))
        handle, process = _launch(settings, executable, work_dir)
        stack.callback(stop_process_group, process.pid)
        wait_until_healthy(
            f"{handle.url}/v2/models/{SERVED_MODEL_NAME}/ready",
            process,
            handle.server_log,
            timeout=settings.start_timeout,
        )
        yield handle


def _launch(settings: ServingSettings, executable: Path, work_dir: Path):
    model_path = download_model(settings.model_uri, work_dir / "model")
    log_dir = settings.log_dir.resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    prediction_log = log_dir / PREDICTION_LOG_NAME
    config_dir, port = write_mlserver_config(settings, work_dir, model_path, prediction_log)
    server_log = work_dir / "mlserver.log"
    process = start_process_group(
        [str(executable), "start", str(config_dir)],
        server_log,
        env={"PYTHONPATH": str(runtime_path(work_dir)), "MLSERVER_LOGGING_LEVEL": "WARNING"},
        cwd=work_dir,
    )
    handle = ServingHandle(
        url=f"http://{LOOPBACK}:{port}",
        model_uri=settings.model_uri,
        model_path=model_path,
        prediction_log=prediction_log,
        pid=process.pid,
        server_log=server_log,
    )
    return handle, process


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mlops-serve",
        description="Serve a model on 127.0.0.1 with MLServer (set MLFLOW_TRACKING_URI).",
    )
    parser.add_argument(
        "--model-uri", required=True, help="e.g. models:/name@champion or models:/name/3"
    )
    parser.add_argument("--port", type=int, default=0, help="HTTP port (0: a free one)")
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=Path("monitoring"),
        help=f"where {PREDICTION_LOG_NAME} (the drift's current data) goes",
    )
    parser.add_argument(
        "--sample-rate",
        type=float,
        default=1.0,
        help="share of requests whose inputs and outputs are logged",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="MLServer parallel inference workers"
    )
    parser.add_argument("--max-batch-size", type=int, default=0, help="adaptive batching (0: off)")
    parser.add_argument(
        "--max-batch-time", type=float, default=0.0, help="seconds a batch may wait"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = ServingSettings(
            model_uri=args.model_uri,
            log_dir=args.log_dir,
            port=args.port,
            sample_rate=args.sample_rate,
            workers=args.workers,
            max_batch_size=args.max_batch_size,
            max_batch_time=args.max_batch_time,
        )
        with start_serving(settings) as handle:
            print(f"serving {handle.model_uri} at {handle.url}", flush=True)
            print(f"  predict: POST {handle.invocations_url} (MLflow) or {handle.infer_url} (V2)")
            print(f"  ready:   {handle.ready_url}")
            print(f"  logging {settings.sample_rate:.0%} of requests to {handle.prediction_log}")
            print("press Ctrl-C to stop", flush=True)
            _block_until_interrupted()
    except (ServingError, ServerStartError) as error:
        print(f"mlops-serve: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while starting: the server is already stopped
        return 130
    return 0


def _block_until_interrupted() -> None:
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


if __name__ == "__main__":
    raise SystemExit(main())
