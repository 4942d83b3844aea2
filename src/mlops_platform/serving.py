"""Local serving: a registered model on 127.0.0.1 through MLServer and its MLflow runtime.

The same runtime the platform's ModelServing component deploys on Kubernetes
(``mlserver_mlflow.MLflowRuntime``), extended by ``serving_runtime`` with a sampled
prediction log under the project's ``monitoring/`` (the current data for drift) and
400s that name the bad column or type. MLServer lives in a virtual environment of its
own (it pins fastapi, starlette and protobuf below the platform's), so it runs as a
separate process group; ``start_serving`` always stops it.

Every request is checked at the door against the project's data contract
(``data_contract.yaml``, the file the pipeline's validate stage uses; ``--contract``):
types, nulls, ranges, categories and unknown columns, by ``data_contract_rules``. A break
is a 422 naming each column, row and rule; unknown columns are refused unless
``--extra-columns drop``. The door is bounded (defaults in ``ServingSettings``): a body
over ``--max-body-mb`` (16) or more than ``--max-rows`` (10,000) rows is a 413, and the
prediction log rotates past ``--log-max-mb`` (64) keeping ``--log-backups`` (4) older files.
A request with no rows is a 400, a column given twice a 422, and JSON nested deeper than
32 levels a 400 before it is parsed.

Prometheus metrics (``mlops_platform.monitoring.catalog``'s ``SERVING_*``: requests by status
code and serving path, 422s by contract rule, latency, rows per request and per model call,
the training run's end) are at ``http://127.0.0.1:<port>/metrics`` (``--metrics-port``, a free
one by default; ``--no-metrics`` turns them off), served by the runtime itself; with
``--workers``, by MLServer's metrics endpoint, which sums the workers' and adds MLServer's own
series. Their ``model`` and ``version`` labels are the registered name and version served.

An A/B test (``--challenger models:/name/4 --challenger-weight 0.1``): the challenger is
fetched and checked like the model and served beside it; a tenth of the rows go to it, fixed
by each row's entity key (``traffic_split``), each logged with its ``arm`` and counted by arm
(``mlops_serving_ab_test_rows_total``). The cluster's pods run the same split
(``deploy/<env>.yaml``'s ``challenger``); ``mlops-ab-report`` decides the test.

``mlops-serve --model-uri models:/name@champion --port 0 --log-dir monitoring/``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mlops_platform import contract as ml_contract
from mlops_platform import (
    data_contract_rules,
    model_digest,
    prediction_log,
)
from mlops_platform.processes import (
    LOOPBACK,
    ServerStartError,
    free_port,
    start_process_group,
    stop_process_group,
    terminate_as_interrupt,
    wait_until_healthy,
)

MLSERVER_ENV_VAR = "MLOPS_MLSERVER"
# MLServer pins older fastapi/starlette/protobuf, so it lives in an environment of its own
# beside the caller's: the platform repository and every generated project build it there.
DEFAULT_MLSERVER = Path(".venv-mlserver") / "bin" / "mlserver"
RUNTIME_MODULE = "mlops_platform.serving_runtime"
RUNTIME_CLASS = "LoggingMLflowRuntime"
PACKAGE_DIR = Path(__file__).resolve().parent  # mlops_platform, as installed
PREDICTION_LOG_NAME = prediction_log.PREDICTIONS_FILE
# The runtime's setting of a challenger served beside the model (serving_runtime's docstring).
AB_TEST = "ab_test"
METRICS_PATH = "/metrics"
# The runtime's setting of a feature server that completes rows sent by entity key.
ONLINE_FEATURES = "online_features"
# The version label of a model served from a run or a folder rather than the registry.
UNREGISTERED = "unregistered"
# (registered name, version, its training run or None), as registry_version resolves them.
RegistryVersion = tuple[str, str, object]
# auto: ONNX Runtime when the registered version's run carries a checked ONNX export.
ENGINES = ("auto", "onnx", "mlflow")
MLFLOW_FLAVOR = "the model's MLflow flavor"
# The project's contract, written at bake time (mlops_platform.scaffold.data_contract).
DEFAULT_CONTRACT = Path("data_contract.yaml")
SERVED_MODEL_NAME = "model"
# Read by serving_runtime in MLServer's main process, which reads the request bodies.
MAX_BODY_ENV = "MLOPS_SERVE_MAX_BODY_BYTES"
MB = 2**20


class ServingError(RuntimeError):
    """Serving could not start; the message names the problem and the fix."""


@dataclass(frozen=True)
class ServingSettings:
    model_uri: str
    log_dir: Path = Path("monitoring")
    port: int = 0
    sample_rate: float = 1.0
    workers: int = 0
    batch_rows: int = 256
    engine: str = "auto"
    onnx_model: Path | None = None
    max_batch_size: int = 0
    max_batch_time: float = 0.0
    mlserver: Path | None = None
    start_timeout: float = 90.0
    contract: Path | None = None
    extra_columns: str = "reject"
    max_body_mb: float = 16.0
    max_rows: int = 10_000
    log_max_mb: float = 64.0
    log_backups: int = 4
    metrics: bool = True
    metrics_port: int = 0
    # An A/B test: the challenger answers this share of the rows (traffic_split).
    challenger: str | None = None
    challenger_weight: float = 0.1
    # A project's Feast feature server: rows that carry only the entity key get their features
    # from it (online_features).
    feature_server: str | None = None
    feature_service: str | None = None
    entity_key: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ServingError(
                f"sample_rate {self.sample_rate} is out of range: give a share between 0 and 1 "
                "(1.0 logs every request, 0.1 one in ten, 0 none)"
            )
        if self.workers < 0:
            raise ServingError(f"workers {self.workers} is negative: give 0 (in-process) or more")
        if self.engine not in ENGINES:
            raise ServingError(
                f"engine {self.engine!r} is not one of {', '.join(ENGINES)}: auto serves the "
                "model's checked ONNX export when it has one, onnx insists on it, mlflow never"
            )
        if self.batch_rows < 1:
            raise ServingError(
                f"batch_rows {self.batch_rows} must be at least 1 (1: every request alone)"
            )
        if self.max_batch_size < 0 or self.max_batch_time < 0:
            raise ServingError("max_batch_size and max_batch_time must be 0 (off) or positive")
        if self.extra_columns not in ("reject", "drop"):
            raise ServingError(
                f"extra_columns {self.extra_columns!r} is not reject or drop: reject refuses "
                "requests with columns outside the contract, drop removes those columns"
            )
        for name in ("max_body_mb", "max_rows", "log_max_mb"):
            if getattr(self, name) <= 0:
                raise ServingError(f"{name} {getattr(self, name)} must be positive")
        if self.log_backups < 0:
            raise ServingError(f"log_backups {self.log_backups} is negative: give 0 or more")
        if self.challenger is not None:
            _check_challenger(self.challenger, self.challenger_weight, self.model_uri)
        if self.feature_server and not (self.feature_service and self.entity_key):
            raise ServingError("a feature server needs the feature service to ask for and the "
                               "entity key requests carry: give --feature-service and "
                               "--entity-key")
        if self.metrics_port < 0 or (self.metrics_port and self.metrics_port == self.port):
            raise ServingError(
                f"metrics_port {self.metrics_port} must be 0 (a free port) or another port than "
                f"the HTTP port {self.port}"
            )


def _check_challenger(challenger: str, weight: float, model_uri: str) -> None:
    if not 0.0 < weight <= 1.0:
        raise ServingError(f"challenger_weight {weight} is out of range: give the challenger's "
                           "share of the rows, above 0 and at most 1 (0.1: a tenth)")
    if challenger == model_uri:
        raise ServingError(f"the challenger {challenger} is the served model itself: name "
                           "another version (e.g. models:/<name>/<version>)")


def ab_test_setting(challenger_uri: str, weight: float, **loaded: str) -> dict[str, object]:
    """The runtime's ``ab_test`` setting: the challenger ``challenger_uri`` (also the test's
    salt, so local serving and the cluster assign a key alike), its share of the rows, and
    where it is loaded from when not its URI (``uri``, ``version``, ``onnx``)."""
    return {"uri": challenger_uri, "salt": challenger_uri, "weight": weight, **loaded}


def online_features_setting(settings: ServingSettings) -> dict[str, object]:
    """The runtime's ``online_features`` setting (serving_runtime's docstring)."""
    return {"url": settings.feature_server, "feature_service": settings.feature_service,
            "entity_key": settings.entity_key}


@dataclass(frozen=True)
class ServingHandle:
    url: str
    model_uri: str
    model_path: Path
    prediction_log: Path
    pid: int
    server_log: Path
    engine: str = MLFLOW_FLAVOR
    metrics_url: str | None = None  # None: metrics off

    @property
    def invocations_url(self) -> str:
        return f"{self.url}/invocations"

    @property
    def labels_url(self) -> str:
        return f"{self.url}/labels"

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

    with _registry_errors(model_uri):
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=model_uri, dst_path=str(destination)
        )
    return Path(local)


@contextlib.contextmanager
def _registry_errors(model_uri: str) -> Iterator[None]:
    """The registry's refusals of ``model_uri`` as a ServingError naming the fix."""
    from mlflow.exceptions import MlflowException

    if not os.environ.get("MLFLOW_TRACKING_URI") and model_uri.startswith("models:/"):
        raise ServingError(
            f"MLFLOW_TRACKING_URI is not set, so {model_uri} cannot be resolved: export the "
            "tracking_uri of platform_outputs.json (the project's `make serve` does)"
        )
    try:
        yield
    except MlflowException as error:
        raise ServingError(
            f"cannot fetch {model_uri}: {error.message} (check the model name and its alias "
            "or version in the registry)"
        ) from error


def pinned_uri(model_uri: str, registered: RegistryVersion | None) -> str:
    """The registry version ``registered`` names (``models:/name/3``), else ``model_uri``: the
    files served are the version the labels and the ONNX choice describe, even if the alias
    moves meanwhile."""
    return f"models:/{registered[0]}/{registered[1]}" if registered else model_uri


def check_promoted_files(registered: RegistryVersion | None, model_path: Path) -> str:
    """Refuse files that are not the ones the gate promoted (ServingError); a note when the
    version carries no digest (not promoted through the gate), '' when they match."""
    from mlflow import MlflowClient

    if registered is None:
        return ""
    name, version, _ = registered
    tag = ml_contract.TAG_MODEL_DIGEST
    expected = MlflowClient().get_model_version(name, version).tags.get(tag)
    if expected is None:
        return model_digest.unchecked_note(name, version, tag)
    changed = model_digest.changed_files(model_path, name, version, expected, tag)
    if changed:
        raise ServingError(changed)
    return ""


def onnx_export_of(settings: ServingSettings, work_dir: Path,
                   registered: RegistryVersion | None) -> tuple[Path | None, str]:
    """The ONNX export to serve, if any, and which engine serves, in words. ``registered``:
    ``registry_version`` of the model URI."""
    if settings.engine == "mlflow":
        return None, f"{MLFLOW_FLAVOR} (engine mlflow)"
    if settings.onnx_model is not None:
        return settings.onnx_model, f"ONNX Runtime ({settings.onnx_model})"
    run = registered[2] if registered else None
    tags = run.data.tags if run is not None else {}
    if tags.get(ml_contract.TAG_SERVING_PATH) != ml_contract.SERVING_PATH_ONNX:
        why = tags.get(ml_contract.TAG_SERVING_PATH_REASON, "no ONNX export was checked") \
            if run is not None else "not a registered model version"
        if settings.engine == "onnx":
            raise ServingError(f"{settings.model_uri} has no checked ONNX export ({why}): serve "
                               "it with --engine auto or mlflow")
        return None, f"{MLFLOW_FLAVOR} ({why})"
    import mlflow

    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"runs:/{run.info.run_id}/{ml_contract.ONNX_ARTIFACT}",
        dst_path=str(work_dir / "onnx"))
    reason = tags.get(ml_contract.TAG_SERVING_PATH_REASON, "")
    return Path(local), f"ONNX Runtime ({reason})" if reason else "ONNX Runtime"


def registry_version(model_uri: str) -> RegistryVersion | None:
    """The registered name, version and training run (or None) a URI serves
    (``models:/name/3``, ``models:/name@alias``), resolved as MLflow resolves it; None when
    it names no registry version. Resolved once per launch: the ONNX choice and the metrics
    labels then describe the same version, even if the alias moves meanwhile."""
    from mlflow import MlflowClient
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    if not model_uri.startswith("models:/"):
        return None
    client = MlflowClient()
    with _registry_errors(model_uri):
        resolved = get_model_name_and_version(client, model_uri)
        if len(resolved) != 2:  # models:/<model id>: a logged model, no registry version
            return None
        version = client.get_model_version(*resolved)
        return version.name, str(version.version), \
            client.get_run(version.run_id) if version.run_id else None


def metrics_labels(model_uri: str, registered: RegistryVersion | None) -> dict[str, object]:
    """The served version as the metrics label it: registered name and version, and when its
    training run ended (``trained_at``, Unix time; absent when unknown). ``registered``:
    ``registry_version`` of the model URI."""
    if registered is None:
        return {"model": Path(model_uri.rstrip("/")).name or SERVED_MODEL_NAME,
                "version": UNREGISTERED}
    name, version, run = registered
    ended = run.info.end_time if run is not None else None
    return {"model": name, "version": version,
            **({"trained_at": ended / 1000} if ended else {})}


def write_contract_json(contract: Path, work_dir: Path) -> Path:
    """The contract, checked and as JSON: MLServer's environment reads it without YAML."""
    import yaml

    try:
        loaded = yaml.safe_load(contract.read_text())
        data_contract_rules.check_contract(loaded)
    except OSError as error:
        raise ServingError(
            f"cannot read the data contract {contract}: {error.strerror} (give the project's "
            f"{DEFAULT_CONTRACT} with --contract)"
        ) from error
    except (yaml.YAMLError, data_contract_rules.ContractFileError) as error:
        raise ServingError(f"the data contract {contract} is not usable: {error}") from error
    path = work_dir / "data_contract.json"
    path.write_text(json.dumps(loaded))
    return path


def write_mlserver_config(
    settings: ServingSettings,
    work_dir: Path,
    model_path: Path,
    prediction_log: Path,
    contract_json: Path | None = None,
    onnx_model: Path | None = None,
    labels: dict[str, object] | None = None,
    ab_test: dict[str, object] | None = None,
) -> tuple[Path, int, int | None]:
    """Server and model settings for ``mlserver start``; returns the folder, the HTTP port and
    the metrics port (None: metrics off). ``labels``: ``metrics_labels`` of the model."""
    config_dir = work_dir / "mlserver"
    config_dir.mkdir(parents=True, exist_ok=True)
    port = settings.port or free_port()
    metrics_port = (settings.metrics_port or free_port()) if settings.metrics else None
    # In one process the runtime serves the metrics itself: MLServer's endpoint would add its
    # REST middleware to every request (55 us, repeating the runtime's series). Parallel
    # workers need MLServer's, which sums the workers' multiprocess files.
    mlserver_metrics = bool(metrics_port and settings.workers)
    server = {
        "host": LOOPBACK,
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_endpoint": METRICS_PATH if mlserver_metrics else None,
        **({"metrics_port": metrics_port} if mlserver_metrics else {}),
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
            "extra": {
                "prediction_log": str(prediction_log),
                "sample_rate": settings.sample_rate,
                "log_max_bytes": int(settings.log_max_mb * MB),
                "log_backups": settings.log_backups,
                "max_rows": settings.max_rows,
                "batch_rows": settings.batch_rows,
                "extra_columns": settings.extra_columns,
                **({"contract": str(contract_json)} if contract_json else {}),
                **({"onnx": str(onnx_model)} if onnx_model else {}),
                **({"metrics": labels} if settings.metrics and labels else {}),
                **({AB_TEST: ab_test} if ab_test else {}),
                **({ONLINE_FEATURES: online_features_setting(settings)}
                   if settings.feature_server else {}),
                **({"metrics_host": LOOPBACK, "metrics_port": metrics_port}
                   if metrics_port and not mlserver_metrics else {}),
            },
        },
    }
    (config_dir / "settings.json").write_text(json.dumps(server, indent=2))
    (config_dir / "model-settings.json").write_text(json.dumps(model, indent=2))
    return config_dir, port, metrics_port


def runtime_path(work_dir: Path) -> Path:
    """A folder holding only this package (a link to it), so MLServer's path gets the
    runtime under its own name and none of this environment's other packages."""
    folder = work_dir / "runtime"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / PACKAGE_DIR.name
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(PACKAGE_DIR, target_is_directory=True)
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


def fetch_checked(model_uri: str, folder: Path, what: str = "") -> tuple[RegistryVersion | None,
                                                                         Path]:
    """The version ``model_uri`` names, resolved once, downloaded into ``folder / "model"`` and
    checked against the gate's digest (a note on stderr when it has none): the registry's
    answer and the files."""
    registered = registry_version(model_uri)
    return registered, download_checked(model_uri, registered, folder, f"mlops-serve: {what}")


def download_checked(model_uri: str, registered: RegistryVersion | None, folder: Path,
                     note_prefix: str) -> Path:
    """The files of the version ``registered`` (else of ``model_uri``), downloaded into
    ``folder / "model"`` and checked against the gate's digest (ServingError on a mismatch; a
    note on stderr after ``note_prefix`` when the version has none)."""
    path = download_model(pinned_uri(model_uri, registered), folder / "model")
    note = check_promoted_files(registered, path)
    if note:
        print(f"{note_prefix}{note}", file=sys.stderr)
    return path


def _launch(settings: ServingSettings, executable: Path, work_dir: Path):
    registered, model_path = fetch_checked(settings.model_uri, work_dir)
    log_dir = settings.log_dir.resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    prediction_log = log_dir / PREDICTION_LOG_NAME
    contract_json = write_contract_json(settings.contract, work_dir) if settings.contract else None
    onnx_model, engine = onnx_export_of(settings, work_dir, registered)
    labels = metrics_labels(settings.model_uri, registered) if settings.metrics else None
    ab_test = _challenger_setting(settings, work_dir) if settings.challenger else None
    config_dir, port, metrics_port = write_mlserver_config(
        settings, work_dir, model_path, prediction_log, contract_json, onnx_model, labels,
        ab_test)
    server_log = work_dir / "mlserver.log"
    process = start_process_group(
        [str(executable), "start", str(config_dir)],
        server_log,
        env={
            "PYTHONPATH": str(runtime_path(work_dir)),
            "MLSERVER_LOGGING_LEVEL": "WARNING",
            MAX_BODY_ENV: str(int(settings.max_body_mb * MB)),
        },
        cwd=work_dir,
    )
    handle = ServingHandle(
        url=f"http://{LOOPBACK}:{port}",
        model_uri=settings.model_uri,
        model_path=model_path,
        prediction_log=prediction_log,
        pid=process.pid,
        server_log=server_log,
        engine=engine,
        metrics_url=f"http://{LOOPBACK}:{metrics_port}{METRICS_PATH}" if metrics_port else None,
    )
    return handle, process


def _challenger_setting(settings: ServingSettings, work_dir: Path) -> dict[str, object]:
    """The challenger fetched like the model (pinned, checked, ONNX where the engine says)."""
    assert settings.challenger is not None
    folder = work_dir / "challenger"
    registered, path = fetch_checked(settings.challenger, folder, "challenger: ")
    as_model = replace(settings, model_uri=settings.challenger, onnx_model=None, challenger=None)
    onnx_model, _ = onnx_export_of(as_model, folder, registered)
    version = registered[1] if registered else UNREGISTERED
    return ab_test_setting(settings.challenger, settings.challenger_weight, uri=str(path),
                           version=version, **({"onnx": str(onnx_model)} if onnx_model else {}))


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
    defaults = ServingSettings(model_uri="")
    parser.add_argument(
        "--workers", type=int, default=defaults.workers,
        help="MLServer parallel inference workers (0: in the server's process)"
    )
    parser.add_argument(
        "--batch-rows", type=int, default=defaults.batch_rows,
        help="most rows of /invocations requests predicted in one model call (1: no batching)"
    )
    parser.add_argument(
        "--engine", choices=ENGINES, default=defaults.engine,
        help="auto: ONNX Runtime when the version has a checked ONNX export, else MLflow"
    )
    parser.add_argument("--max-batch-size", type=int, default=0,
                        help="MLServer's adaptive batching of V2 requests (0: off)")
    parser.add_argument(
        "--max-batch-time", type=float, default=0.0, help="seconds a V2 batch may wait"
    )
    parser.add_argument(
        "--contract",
        type=Path,
        default=None,
        help=f"data contract every request must keep (default: {DEFAULT_CONTRACT} if present)",
    )
    parser.add_argument(
        "--extra-columns",
        choices=("reject", "drop"),
        default=defaults.extra_columns,
        help="columns outside the contract: refuse the request (422) or drop them",
    )
    parser.add_argument("--max-body-mb", type=float, default=defaults.max_body_mb,
                        help="largest request body; larger is a 413")
    parser.add_argument("--max-rows", type=int, default=defaults.max_rows,
                        help="most rows per request; more is a 413")
    parser.add_argument("--log-max-mb", type=float, default=defaults.log_max_mb,
                        help="size at which the prediction log rotates")
    parser.add_argument("--log-backups", type=int, default=defaults.log_backups,
                        help="rotated prediction logs kept")
    parser.add_argument("--metrics-port", type=int, default=defaults.metrics_port,
                        help=f"port of the Prometheus metrics ({METRICS_PATH}; 0: a free one)")
    parser.add_argument("--no-metrics", dest="metrics", action="store_false",
                        help="export no Prometheus metrics")
    parser.add_argument("--challenger", default=None,
                        help="an A/B test: this model (e.g. models:/name/4) answers a share of "
                        "the rows, by entity key; each row is logged with its arm")
    parser.add_argument("--challenger-weight", type=float, default=defaults.challenger_weight,
                        help="the challenger's share of the rows (above 0, at most 1)")
    parser.add_argument("--feature-server", default=None,
                        help="a Feast feature server's URL: a row that carries only the entity "
                        "key is completed with its online features")
    parser.add_argument("--feature-service", default=None,
                        help="the Feast feature service the model reads")
    parser.add_argument("--entity-key", default=None,
                        help="the entity key column a row sent by key carries")
    return parser.parse_args(argv)


def contract_of(explicit: Path | None) -> Path | None:
    """The contract to check requests against: the one given, else the project's if any."""
    if explicit is not None:
        return explicit
    return DEFAULT_CONTRACT if DEFAULT_CONTRACT.is_file() else None


def settings_of(argv: Sequence[str] | None) -> ServingSettings:
    """The settings ``mlops-serve`` runs with for ``argv``, paths relative to this folder."""
    args = parse_args(argv)
    return ServingSettings(
        model_uri=args.model_uri,
        log_dir=args.log_dir,
        port=args.port,
        sample_rate=args.sample_rate,
        workers=args.workers,
        batch_rows=args.batch_rows,
        engine=args.engine,
        max_batch_size=args.max_batch_size,
        max_batch_time=args.max_batch_time,
        contract=contract_of(args.contract),
        extra_columns=args.extra_columns,
        max_body_mb=args.max_body_mb,
        max_rows=args.max_rows,
        log_max_mb=args.log_max_mb,
        log_backups=args.log_backups,
        metrics=args.metrics,
        metrics_port=args.metrics_port,
        challenger=args.challenger,
        challenger_weight=args.challenger_weight,
        feature_server=args.feature_server,
        feature_service=args.feature_service,
        entity_key=args.entity_key,
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = settings_of(argv)
        with terminate_as_interrupt(), start_serving(settings) as handle:
            print(f"serving {handle.model_uri} at {handle.url}", flush=True)
            print(f"  predict: POST {handle.invocations_url} (MLflow) or {handle.infer_url} (V2)")
            print(f"  ready:   {handle.ready_url}")
            print(f"  engine:  {handle.engine}")
            print(f"  logging {settings.sample_rate:.0%} of requests to {handle.prediction_log}")
            print(f"  {_door(settings)}")
            if settings.contract:
                print(f"  try:     {example_request(handle, settings.contract)}")
            print(f"  metrics: {handle.metrics_url or 'off (--no-metrics)'}")
            if settings.feature_server:
                print(f"  by key:  rows of {settings.entity_key} alone get their features from "
                      f"{settings.feature_server} ({settings.feature_service})")
            if settings.challenger:
                print(f"  A/B:     {settings.challenger} answers "
                      f"{settings.challenger_weight:.0%} of the rows (by entity key)")
            print("press Ctrl-C to stop", flush=True)
            _block_until_interrupted()
    except (ServingError, ServerStartError) as error:
        print(f"mlops-serve: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while starting: the server is already stopped
        return 130
    return 0


def example_request(handle: ServingHandle, contract: Path) -> str:
    """A curl command predicting one row that keeps the contract (a shell can run it)."""
    import yaml

    row = data_contract_rules.example_row(yaml.safe_load(contract.read_text()))
    body = json.dumps({"dataframe_records": [row]})
    return shlex.join(["curl", "-sS", handle.invocations_url,
                       "-H", "Content-Type: application/json", "-d", body])


def _door(settings: ServingSettings) -> str:
    checked = (
        f"checked against {settings.contract} (extra columns: {settings.extra_columns})"
        if settings.contract
        else f"NOT checked: no {DEFAULT_CONTRACT} here and no --contract"
    )
    return (
        f"inputs {checked}; at most {settings.max_rows} rows and {settings.max_body_mb:g} MB "
        "per request"
    )


def _block_until_interrupted() -> None:
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


if __name__ == "__main__":
    raise SystemExit(main())
