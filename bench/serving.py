"""Serving latency and throughput: our MLServer path beside `mlflow models serve`, same model.

Two models, each served by both:

- **the project**: the template's default project (breast cancer, 30 columns, a logistic
  regression pipeline), baked by a plain ``cookiecutter``, trained and promoted by its own
  ``make pipeline`` and ``make promote`` against an embedded local platform
  (``bench._project``). Ours serves its champion exactly as its ``make serve`` does: the
  same ``mlops-serve`` arguments from the project's folder (so its ``data_contract.yaml`` is
  checked at the door, every request is logged to ``monitoring/``, and the engine is chosen
  as there: ONNX Runtime when the version carries a checked export) and MLServer from
  ``.venv-mlserver`` (the lock a project's ``.venv-mlserver`` is built from).
  ``mlflow models serve`` serves the same registry version.
- **a synthetic forest**: a 100-tree random forest on the same data, saved to a folder and
  served with no contract (continuity with the earlier figures), in several configurations.

For 1-row and 100-row requests at 1, 4 and 16 concurrent keep-alive clients on loopback,
each cell runs for a bounded time and reports p50, p99 and requests/s; the in-process
``predict`` of the same rows by the same model is the floor, measured again beside each
server (the machine is shared: a floor from another minute would compare unlike
conditions). The floor is the served path's (ONNX Runtime for an export), and every cell
also shows the scikit-learn (MLflow pyfunc) floor. One asyncio client drives every server
the same way, so its cost is the same on both sides. Each cell records the 1-minute load
average when it ended.

Goals (issues 15 and 20), read on the project as `make serve` serves it (door and logging
on): its 1-row p50 at 1 client is within 2 ms of the in-process predict of the same model,
and at 16 clients with 1-row requests it serves >= 2x the req/s of `mlflow models serve`.

Metrics on vs off (issue 21): the project served as `make serve` serves it (Prometheus
metrics on, the default) and the same with ``--no-metrics``, both up at once and measured in
alternation, ``METRICS_ROUNDS`` rounds of 1-row requests (p50 at 1 client, req/s at 16),
so each pair ran under the same load; the medians compare. Goal: metrics cost at most 5% of
the req/s and 0.2 ms of the p50.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from unittest import mock

from bench._project import REPO_ROOT, TrainedProject, trained_default_project
from bench.machine import markdown_table, save_results
from mlops_platform import contract as ml_contract
from mlops_platform.monitoring import catalog
from mlops_platform.onnx_export import choose_serving_path
from mlops_platform.onnx_predictor import OnnxPredictor
from mlops_platform.processes import (
    LOOPBACK,
    free_port,
    start_process_group,
    stop_process_group,
    wait_until_healthy,
)
from mlops_platform.serving import (
    MLSERVER_ENV_VAR,
    ServingHandle,
    ServingSettings,
    onnx_export_of,
    registry_version,
    settings_of,
    start_serving,
)

CLIENTS = (1, 4, 16)
ROWS = (1, 100)
CELL_SECONDS = 3.0
CELL_MAX_REQUESTS = 3000
FLOOR_REPEATS = 200
PROJECT = "project (template default)"
FOREST = "synthetic forest (100 trees)"
MLFLOW = "mlflow models serve"
# The project's own serve.py runs `mlops-serve` with exactly these arguments, from its folder.
MAKE_SERVE = "ours, as `make serve`"
DEFAULT_SERVER = "ours, default"  # the forest served with ServingSettings' defaults
MLSERVER = REPO_ROOT / ".venv-mlserver" / "bin" / "mlserver"
NO_DOOR, BOUNDS_ONLY, CONTRACT_DOOR = "off", "bounds only (no contract)", "on (data contract)"
LOGGING_ON, LOGGING_OFF = "on (every request)", "off"
METRICS_ON, METRICS_OFF = "on (default)", "off (--no-metrics)"
METRICS_ROUNDS = 16
METRICS_GOAL_PCT, METRICS_GOAL_MS = 5.0, 0.2


@dataclass(frozen=True)
class Cell:
    model: str
    server: str
    door: str
    logging: str
    rows: int
    clients: int
    p50_ms: float
    p99_ms: float
    requests_per_s: float
    requests: int
    errors: int
    floor_p50_ms: float
    sklearn_floor_p50_ms: float = 0.0
    load_1m: float = 0.0

    @property
    def over_floor_ms(self) -> float:
        return round(self.p50_ms - self.floor_p50_ms, 2)


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    body_of: Callable[[list[dict]], bytes]


@dataclass(frozen=True)
class Served:
    """One server of one model: how to start it, what it takes, and what it does per request."""

    server: str
    start: Callable[[], contextlib.AbstractContextManager[int]]
    target: Target
    floor: str  # which in-process predictor is its floor
    door: str
    logging: str


def mlflow_body(records: list[dict]) -> bytes:
    return json.dumps({"dataframe_records": records}).encode()


def v2_body(records: list[dict]) -> bytes:
    columns = list(records[0])
    inputs = [{"name": c, "datatype": "FP64", "shape": [len(records)],
               "data": [r[c] for r in records]} for c in columns]
    return json.dumps({"inputs": inputs}).encode()


INVOCATIONS = Target("/invocations", "/invocations", mlflow_body)
V2 = Target("V2 infer", "/v2/models/model/infer", v2_body)


# --- the load generator ------------------------------------------------------------------


async def _client(port: int, request: bytes, deadline: float, budget: list[int],
                  latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            status, _ = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors[0] += 1
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(":", 1)[1]) for line in lines
                  if line.lower().startswith("content-length:"))
    return status, await reader.readexactly(length)


def measure(port: int, path: str, body: bytes, clients: int,
            warm_up: bool = True) -> tuple[list[float], int, float]:
    """Latencies in seconds, errors and elapsed seconds of one bounded run."""
    request = (f"POST {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    request += body
    latencies: list[float] = []
    errors = [0]

    async def run() -> float:
        # A short warm-up, then the measured, bounded run.
        if warm_up:
            await asyncio.gather(*(_client(port, request, time.perf_counter() + 0.3, [50], [],
                                           [0]) for _ in range(clients)))
        started = time.perf_counter()
        deadline, budget = started + CELL_SECONDS, [CELL_MAX_REQUESTS]
        await asyncio.gather(*(_client(port, request, deadline, budget, latencies, errors)
                               for _ in range(clients)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    return latencies, errors[0], elapsed


def _percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --- the models, their floors and their servers ------------------------------------------


def save_forest(folder: Path) -> tuple[Path, list[dict]]:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(features, target)
    model_dir = folder / "forest"
    mlflow.sklearn.save_model(
        forest, str(model_dir), signature=infer_signature(features, forest.predict(features)),
        pip_requirements=["scikit-learn"], serialization_format="skops",
        skops_trusted_types=["sklearn.tree._tree.Tree"],
    )
    return model_dir, features.head(100).to_dict(orient="records")


def in_process_floor(model, records: list[dict]) -> dict[int, dict[str, float]]:
    import pandas as pd

    floor = {}
    for rows in ROWS:
        frame = pd.DataFrame.from_records(records[:rows])
        timings = []
        for _ in range(FLOOR_REPEATS):
            started = time.perf_counter()
            model.predict(frame)
            timings.append(time.perf_counter() - started)
        floor[rows] = {"p50_ms": _ms(statistics.median(timings)),
                       "p99_ms": _ms(_percentile(timings, 99))}
    return floor


def environment(**values: str):
    """The variables set for the block, the environment as it was afterwards."""
    return mock.patch.dict(os.environ, values)


@contextlib.contextmanager
def mlflow_models_serve(model_uri: str, work_dir: Path) -> Iterator[int]:
    port = free_port()
    log = work_dir / f"mlflow-models-serve-{port}.log"
    bin_dir = str(Path(sys.executable).parent)
    process = start_process_group(
        [f"{bin_dir}/mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
         "-h", LOOPBACK, "-p", str(port)],
        log, env={"PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"},
    )
    try:
        wait_until_healthy(f"http://{LOOPBACK}:{port}/ping", process, log)
        yield port
    finally:
        stop_process_group(process.pid)


@contextlib.contextmanager
def ours(model_dir: Path, work_dir: Path, **knobs: object) -> Iterator[int]:
    settings = ServingSettings(model_uri=str(model_dir), log_dir=work_dir / "monitoring",
                               mlserver=MLSERVER, **knobs)
    serve_dir = Path(tempfile.mkdtemp(prefix="serve-", dir=work_dir))
    with start_serving(settings, work_dir=serve_dir) as handle:
        yield int(handle.url.rsplit(":", 1)[1])


def make_serve_arguments(project: TrainedProject) -> list[str]:
    """What the project's serve.py passes to `mlops-serve` (template/.../serve.py)."""
    return ["--model-uri", f"models:/{project.model_name}@{ml_contract.ALIAS_CHAMPION}",
            "--log-dir", "monitoring"]


@contextlib.contextmanager
def as_make_serve(project: TrainedProject, work_dir: Path) -> Iterator[int]:
    """The champion served as the project's `make serve` serves it, from its folder."""
    with make_serve(project, work_dir) as handle:
        yield _port(handle)


@contextlib.contextmanager
def make_serve(project: TrainedProject, work_dir: Path,
               more: tuple[str, ...] = ()) -> Iterator[ServingHandle]:
    """`make serve`'s server of the champion (with ``more`` `mlops-serve` arguments)."""
    serve_dir = Path(tempfile.mkdtemp(prefix="serve-", dir=work_dir))
    with contextlib.chdir(project.folder):
        settings = settings_of([*make_serve_arguments(project), *more])
        with start_serving(settings, work_dir=serve_dir) as handle:
            print(f"{MAKE_SERVE}{' ' if more else ''}{' '.join(more)}: engine {handle.engine}; "
                  f"contract {settings.contract}; logging {settings.sample_rate:.0%} to "
                  f"{handle.prediction_log}; metrics {handle.metrics_url}", flush=True)
            yield handle


def _port(handle: ServingHandle) -> int:
    return int(handle.url.rsplit(":", 1)[1])


def forest_servers(model_dir: Path, onnx_file: Path, work_dir: Path) -> list[Served]:
    """The forest's servers; `ours` logs every request, as `make serve` does."""
    def by_us(**knobs: object) -> Callable[[], contextlib.AbstractContextManager[int]]:
        return lambda: ours(model_dir, work_dir, **knobs)

    return [
        Served(MLFLOW, lambda: mlflow_models_serve(str(model_dir), work_dir), INVOCATIONS,
               "sklearn", NO_DOOR, LOGGING_OFF),
        Served(DEFAULT_SERVER, by_us(), INVOCATIONS, "sklearn", BOUNDS_ONLY, LOGGING_ON),
        Served(f"{DEFAULT_SERVER}, ONNX export", by_us(onnx_model=onnx_file), INVOCATIONS,
               "onnx", BOUNDS_ONLY, LOGGING_ON),
        Served("ours, no batching", by_us(batch_rows=1), INVOCATIONS, "sklearn", BOUNDS_ONLY,
               LOGGING_ON),
        Served("ours, 2 workers, MLServer batching",
               by_us(workers=2, max_batch_size=16, max_batch_time=0.002), V2, "sklearn",
               BOUNDS_ONLY, LOGGING_ON),
    ]


def project_servers(project: TrainedProject, served_path: str, work_dir: Path) -> list[Served]:
    return [
        Served(MLFLOW, lambda: mlflow_models_serve(project.version_uri, work_dir), INVOCATIONS,
               "sklearn", NO_DOOR, LOGGING_OFF),
        Served(MAKE_SERVE, lambda: as_make_serve(project, work_dir), INVOCATIONS, served_path,
               CONTRACT_DOOR, LOGGING_ON),
    ]


def export_forest(model_dir: Path, records: list[dict], work_dir: Path) -> tuple[Path, str]:
    """The forest's ONNX export, checked equal to it on the 100 rows first."""
    import mlflow.sklearn
    import pandas as pd

    forest = mlflow.sklearn.load_model(str(model_dir))
    path = choose_serving_path(forest, pd.DataFrame.from_records(records))
    if path.onnx is None:
        raise SystemExit(f"the forest cannot be served by ONNX Runtime: {path.reason}")
    onnx_file = work_dir / "forest.onnx"
    onnx_file.write_bytes(path.onnx)
    return onnx_file, path.reason


def run_servers(model: str, served: list[Served], predictors: dict, records: list[dict],
                only: str) -> list[Cell]:
    cells: list[Cell] = []
    for server in served:
        if only and only not in f"{model} {server.server}":
            continue
        with server.start() as port:
            floors = {kind: in_process_floor(predictor, records)
                      for kind, predictor in predictors.items()}
            for rows in ROWS:
                body = server.target.body_of(records[:rows])
                for clients in CLIENTS:
                    latencies, errors, elapsed = measure(port, server.target.path, body, clients)
                    cell = Cell(
                        model, f"{server.server} ({server.target.name})", server.door,
                        server.logging, rows, clients, _ms(_percentile(latencies, 50)),
                        _ms(_percentile(latencies, 99)), round(len(latencies) / elapsed, 1),
                        len(latencies), errors, floors[server.floor][rows]["p50_ms"],
                        floors["sklearn"][rows]["p50_ms"], round(os.getloadavg()[0], 2))
                    print(cell, flush=True)
                    cells.append(cell)
    return cells


@dataclass(frozen=True)
class MetricsRound:
    metrics: str
    round: int
    p50_1_client_ms: float
    requests_per_s_16_clients: float
    server_cpu_ms_per_request: float  # at 16 clients: less sensitive to the machine's load
    errors: int
    load_1m: float


def metrics_rounds(project: TrainedProject, record: dict, work_dir: Path) -> list[MetricsRound]:
    """1-row requests to `make serve`'s server with metrics on and off, in alternation."""
    body = INVOCATIONS.body_of([record])
    rounds = []
    with make_serve(project, work_dir) as on, make_serve(project, work_dir, ("--no-metrics",)) \
            as off:
        servers = {METRICS_ON: on, METRICS_OFF: off}
        for index in range(METRICS_ROUNDS):
            # ABBA: neither setting always runs first, after the other has warmed the caches.
            for metrics in (list(servers) if index % 2 == 0 else list(servers)[::-1]):
                port, pid = _port(servers[metrics]), servers[metrics].pid
                single, errors, _ = measure(port, INVOCATIONS.path, body, 1)
                cpu = _cpu_seconds(pid)
                many, more_errors, elapsed = measure(port, INVOCATIONS.path, body, 16,
                                                     warm_up=False)
                cpu = _cpu_seconds(pid) - cpu
                rounds.append(MetricsRound(metrics, index, _ms(_percentile(single, 50)),
                                           round(len(many) / elapsed, 1),
                                           round(1000 * cpu / len(many), 3),
                                           errors + more_errors, round(os.getloadavg()[0], 2)))
                print(rounds[-1], flush=True)
        counted = served_and_counted(on)
    print(f"metrics on: the server counted {counted} answered requests", flush=True)
    return rounds


def _cpu_seconds(pid: int) -> float:
    """CPU time used so far by a server: its process and every child (parallel workers)."""
    import psutil

    process = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])


def served_and_counted(handle: ServingHandle) -> int:
    """The 200s the metrics endpoint counted (the bench's requests, warm-ups included)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(handle.metrics_url, timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    return int(sum(sample.value for family in text_string_to_metric_families(text)
                   for sample in family.samples
                   if sample.name == catalog.SERVING_REQUESTS.name
                   and sample.labels["code"] == "200"))


def metrics_overhead(rounds: list[MetricsRound]) -> dict[str, float]:
    """Medians of each setting over the rounds, and what metrics cost."""
    def median(metrics: str, field: str) -> float:
        return statistics.median(getattr(r, field) for r in rounds if r.metrics == metrics)

    on_rps, off_rps = (median(m, "requests_per_s_16_clients") for m in (METRICS_ON, METRICS_OFF))
    on_p50, off_p50 = (median(m, "p50_1_client_ms") for m in (METRICS_ON, METRICS_OFF))
    on_cpu, off_cpu = (median(m, "server_cpu_ms_per_request") for m in (METRICS_ON, METRICS_OFF))
    return {"rounds": METRICS_ROUNDS, "on_req_per_s_16_clients": round(on_rps, 1),
            "off_req_per_s_16_clients": round(off_rps, 1),
            "req_per_s_cost_pct": round(100 * (off_rps - on_rps) / off_rps, 1),
            "on_p50_1_row_ms": round(on_p50, 2), "off_p50_1_row_ms": round(off_p50, 2),
            "p50_1_row_cost_ms": round(on_p50 - off_p50, 2),
            "on_server_cpu_ms_per_request": round(on_cpu, 3),
            "off_server_cpu_ms_per_request": round(off_cpu, 3),
            "server_cpu_cost_pct": round(100 * (on_cpu - off_cpu) / off_cpu, 1)}


def project_cells(work_dir: Path, only: str) \
        -> tuple[list[Cell], dict[str, str], list[MetricsRound]]:
    """The template's default project, trained, and its champion served both ways, then
    with metrics on and off."""
    import mlflow.pyfunc

    with trained_default_project(work_dir) as project, \
            environment(MLFLOW_TRACKING_URI=project.tracking_uri,
                        **{MLSERVER_ENV_VAR: str(MLSERVER)}):
        with contextlib.chdir(project.folder):
            settings = settings_of(make_serve_arguments(project))
            onnx_file, engine = onnx_export_of(settings, work_dir / "floor",
                                               registry_version(settings.model_uri))
        predictors = {"sklearn": mlflow.pyfunc.load_model(project.version_uri)}
        if onnx_file is not None:
            predictors["onnx"] = OnnxPredictor(str(onnx_file))
        served_path = "onnx" if onnx_file is not None else "sklearn"
        about = {"model_uri": project.version_uri, "engine": engine,
                 "contract": "data_contract.yaml"}
        model = f"{PROJECT}, v{project.version}"
        cells = run_servers(model, project_servers(project, served_path, work_dir), predictors,
                            project.rows(max(ROWS)), only)
        rounds = metrics_rounds(project, project.rows(1)[0], work_dir) \
            if not only or "metrics" in only else []
    return cells, about, rounds


def forest_cells(work_dir: Path, only: str) -> tuple[list[Cell], str]:
    import mlflow.pyfunc

    model_dir, records = save_forest(work_dir)
    onnx_file, onnx_check = export_forest(model_dir, records, work_dir)
    print(f"forest ONNX export {onnx_check}", flush=True)
    predictors = {"sklearn": mlflow.pyfunc.load_model(str(model_dir)),
                  "onnx": OnnxPredictor(str(onnx_file))}
    return run_servers(FOREST, forest_servers(model_dir, onnx_file, work_dir), predictors,
                       records, only), onnx_check


def main(only: str = "") -> None:
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp, \
            environment(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false"):
        work_dir = Path(tmp)
        (work_dir / "project").mkdir()
        (work_dir / "forest").mkdir()
        project, about, rounds = project_cells(work_dir / "project", only)
        forest, onnx_check = forest_cells(work_dir / "forest", only)
    if only:
        if rounds:
            print(metrics_table(rounds))
        return
    cells = project + forest
    results = [{**asdict(c), "over_floor_ms": c.over_floor_ms} for c in cells]
    save_results("serving", {"cells": results, "goals": goals(cells), "project": about,
                             "forest_onnx_check": onnx_check,
                             "metrics_rounds": [asdict(r) for r in rounds],
                             "metrics_overhead": metrics_overhead(rounds)},
                 table(cells, about, onnx_check) + "\n\n" + metrics_table(rounds))


def _cell(cells: list[Cell], model: str, server: str, rows: int, clients: int) -> Cell:
    return next(c for c in cells if c.model.startswith(model) and c.server.startswith(server + " (")
                and c.rows == rows and c.clients == clients)


def goals(cells: list[Cell]) -> dict[str, object]:
    def cell(model: str, server: str, rows: int, clients: int) -> Cell:
        return _cell(cells, model, server, rows, clients)

    onnx = f"{DEFAULT_SERVER}, ONNX export"
    return {
        "project_p50_1_row_ms": cell(PROJECT, MAKE_SERVE, 1, 1).p50_ms,
        "project_floor_1_row_ms": cell(PROJECT, MAKE_SERVE, 1, 1).floor_p50_ms,
        "project_p50_1_row_over_floor_ms": cell(PROJECT, MAKE_SERVE, 1, 1).over_floor_ms,
        "project_mlflow_p50_1_row_ms": cell(PROJECT, MLFLOW, 1, 1).p50_ms,
        "project_req_per_s_16_clients_1_row": cell(PROJECT, MAKE_SERVE, 1, 16).requests_per_s,
        "project_mlflow_req_per_s_16_clients_1_row":
            cell(PROJECT, MLFLOW, 1, 16).requests_per_s,
        "project_throughput_ratio_16_clients_1_row": round(
            cell(PROJECT, MAKE_SERVE, 1, 16).requests_per_s
            / cell(PROJECT, MLFLOW, 1, 16).requests_per_s, 2),
        "forest_default_throughput_ratio_16_clients_1_row": round(
            cell(FOREST, DEFAULT_SERVER, 1, 16).requests_per_s
            / cell(FOREST, MLFLOW, 1, 16).requests_per_s, 2),
        "forest_default_p50_1_row_over_floor_ms": cell(FOREST, DEFAULT_SERVER, 1, 1).over_floor_ms,
        "forest_onnx_throughput_ratio_16_clients_1_row": round(
            cell(FOREST, onnx, 1, 16).requests_per_s / cell(FOREST, MLFLOW, 1, 16).requests_per_s,
            2),
    }


def table(cells: list[Cell], about: dict[str, str], onnx_check: str) -> str:
    rows = [[c.model, c.server, c.door, c.logging, c.rows, c.clients, c.p50_ms, c.p99_ms,
             c.requests_per_s, c.errors, c.floor_p50_ms, c.sklearn_floor_p50_ms,
             c.over_floor_ms if c.clients == 1 else "", c.load_1m] for c in cells]
    summary = goals(cells)
    headers = ["model", "server", "door", "prediction log", "rows", "clients", "p50 ms",
               "p99 ms", "req/s", "errors", "floor p50 ms (served path)",
               "sklearn floor p50 ms", "p50 over floor ms", "load 1m"]
    met_latency = summary["project_p50_1_row_over_floor_ms"] <= 2
    met_throughput = summary["project_throughput_ratio_16_clients_1_row"] >= 2
    return (
        markdown_table(headers, rows)
        + "\n\nThe machine was shared with other work (the 1-minute load of each cell is in "
        "its last column): cells side by side ran under the same load and compare; absolute "
        "figures are pessimistic."
        + f"\n\nGoals, on the template's default project served as `make serve` serves it "
        f"({about['model_uri']}; engine {about['engine']}; door on: {about['contract']}; "
        f"every request logged), 1-row requests on /invocations: at 1 client p50 "
        f"{summary['project_p50_1_row_ms']} ms, {summary['project_p50_1_row_over_floor_ms']} "
        f"ms over the in-process predict of {summary['project_floor_1_row_ms']} ms (goal <= 2 "
        f"ms: {'met' if met_latency else 'missed'}; `mlflow models serve`: "
        f"{summary['project_mlflow_p50_1_row_ms']} ms); at 16 clients "
        f"{summary['project_req_per_s_16_clients_1_row']} req/s, "
        f"{summary['project_throughput_ratio_16_clients_1_row']}x `mlflow models serve`'s "
        f"{summary['project_mlflow_req_per_s_16_clients_1_row']} req/s on the same version "
        f"(goal >= 2x: {'met' if met_throughput else 'missed'})."
        + f"\n\nSynthetic forest (no contract; continuity with earlier runs): the default "
        f"configuration serves {summary['forest_default_throughput_ratio_16_clients_1_row']}x "
        f"the req/s of `mlflow models serve` at 16 clients with 1-row requests, its 1-row p50 "
        f"{summary['forest_default_p50_1_row_over_floor_ms']} ms over the in-process predict; "
        f"its ONNX export ({onnx_check}) serves "
        f"{summary['forest_onnx_throughput_ratio_16_clients_1_row']}x."
    )



def metrics_table(rounds: list[MetricsRound]) -> str:
    overhead = metrics_overhead(rounds)
    rows = [[r.round, r.metrics, r.p50_1_client_ms, r.requests_per_s_16_clients,
             r.server_cpu_ms_per_request, r.errors, r.load_1m] for r in rounds]
    met = (overhead["req_per_s_cost_pct"] <= METRICS_GOAL_PCT
           and overhead["p50_1_row_cost_ms"] <= METRICS_GOAL_MS)
    return (
        "Metrics on vs off: the project as `make serve` serves it (door on, every request "
        "logged), and the same with `--no-metrics`, both up at once and measured in "
        "alternation, 1-row requests on /invocations:\n\n"
        + markdown_table(["round", "metrics", "p50 ms, 1 client", "req/s, 16 clients",
                          "server CPU ms per request, 16 clients", "errors", "load 1m"], rows)
        + f"\n\nMedians over {overhead['rounds']} rounds: {overhead['on_req_per_s_16_clients']} "
        f"req/s with metrics, {overhead['off_req_per_s_16_clients']} without "
        f"({overhead['req_per_s_cost_pct']}% cost; goal <= {METRICS_GOAL_PCT:g}%); 1-row p50 "
        f"{overhead['on_p50_1_row_ms']} ms with, {overhead['off_p50_1_row_ms']} ms without "
        f"({overhead['p50_1_row_cost_ms']} ms cost; goal <= {METRICS_GOAL_MS:g} ms): goal "
        f"{'met' if met else 'missed'}. The server's CPU per request at 16 clients: "
        f"{overhead['on_server_cpu_ms_per_request']} ms with, "
        f"{overhead['off_server_cpu_ms_per_request']} ms without "
        f"({overhead['server_cpu_cost_pct']}%)."
    )

if __name__ == "__main__":
    main(*sys.argv[1:])
