"""Serving latency and throughput: our MLServer path beside `mlflow models serve`, same model.

A 100-tree random forest on the breast-cancer data (30 columns), saved once and served by
both. For 1-row and 100-row requests at 1, 4 and 16 concurrent keep-alive clients on
loopback, each cell runs for a bounded time and reports p50, p99 and requests/s; the
in-process ``predict`` of the same rows is the floor, measured again beside each server
(the machine is shared: a floor from another minute would compare unlike conditions).
One asyncio client drives every server the same way, so its cost is the same on both sides.
The compiled path serves the forest's ONNX export (checked equal to it first) by ONNX
Runtime; its floor is the export's own in-process predict, and every cell also shows the
scikit-learn floor. Each cell records the 1-minute load average when it ended.

Goals (issue 15): the default configuration (``ServingSettings``' defaults, what
`make serve` and the cluster run) serves >= 2x the req/s of `mlflow models serve` at 16
clients with 1-row requests on /invocations, and its 1-row p50 is within 2 ms of the
in-process predict of the same model.
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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.machine import markdown_table, save_results
from mlops_platform.onnx_export import choose_serving_path
from mlops_platform.onnx_predictor import OnnxPredictor
from mlops_platform.processes import (
    LOOPBACK,
    free_port,
    start_process_group,
    stop_process_group,
    wait_until_healthy,
)
from mlops_platform.serving import ServingSettings, start_serving

CLIENTS = (1, 4, 16)
ROWS = (1, 100)
CELL_SECONDS = 3.0
CELL_MAX_REQUESTS = 3000
FLOOR_REPEATS = 200
# What `make serve` and the cluster's serving pods run: ServingSettings' defaults.
DEFAULT_SERVER = "ours, default"


@dataclass(frozen=True)
class Cell:
    server: str
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


def mlflow_body(records: list[dict]) -> bytes:
    return json.dumps({"dataframe_records": records}).encode()


def v2_body(records: list[dict]) -> bytes:
    columns = list(records[0])
    inputs = [{"name": c, "datatype": "FP64", "shape": [len(records)],
               "data": [r[c] for r in records]} for c in columns]
    return json.dumps({"inputs": inputs}).encode()


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


def measure(server: str, port: int, path: str, body: bytes, rows: int, clients: int,
            floor_p50_ms: float = 0.0, sklearn_floor_p50_ms: float = 0.0) -> Cell:
    request = (f"POST {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    request += body
    latencies: list[float] = []
    errors = [0]

    async def run() -> float:
        # A short warm-up, then the measured, bounded run.
        await asyncio.gather(*(_client(port, request, time.perf_counter() + 0.3, [50], [], [0])
                               for _ in range(clients)))
        started = time.perf_counter()
        deadline, budget = started + CELL_SECONDS, [CELL_MAX_REQUESTS]
        await asyncio.gather(*(_client(port, request, deadline, budget, latencies, errors)
                               for _ in range(clients)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    return Cell(server, rows, clients, _ms(_percentile(latencies, 50)),
                _ms(_percentile(latencies, 99)), round(len(latencies) / elapsed, 1),
                len(latencies), errors[0], floor_p50_ms, sklearn_floor_p50_ms,
                round(os.getloadavg()[0], 2))


def _percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --- the model, the floor and the servers ------------------------------------------------


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


@contextlib.contextmanager
def mlflow_models_serve(model_dir: Path, work_dir: Path) -> Iterator[int]:
    port = free_port()
    log = work_dir / "mlflow-models-serve.log"
    bin_dir = str(Path(sys.executable).parent)
    process = start_process_group(
        [f"{bin_dir}/mlflow", "models", "serve", "-m", str(model_dir), "--env-manager", "local",
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
    settings = ServingSettings(model_uri=str(model_dir), log_dir=work_dir / "monitoring", **knobs)
    serve_dir = Path(tempfile.mkdtemp(prefix="serve-", dir=work_dir))
    with start_serving(settings, work_dir=serve_dir) as handle:
        yield int(handle.url.rsplit(":", 1)[1])


def servers(model_dir: Path, onnx_file: Path, work_dir: Path):
    """(name, server context, target, floor); `ours` logs every request, as `make serve` does."""
    invocations = Target("/invocations", "/invocations", mlflow_body)
    v2 = Target("V2 infer", "/v2/models/model/infer", v2_body)
    return [
        ("mlflow models serve", lambda: mlflow_models_serve(model_dir, work_dir), invocations,
         "sklearn"),
        (DEFAULT_SERVER, lambda: ours(model_dir, work_dir), invocations, "sklearn"),
        (f"{DEFAULT_SERVER}, ONNX export", lambda: ours(model_dir, work_dir, onnx_model=onnx_file),
         invocations, "onnx"),
        ("ours, no batching", lambda: ours(model_dir, work_dir, batch_rows=1), invocations,
         "sklearn"),
        ("ours, 2 workers, MLServer batching", lambda: ours(
            model_dir, work_dir, workers=2, max_batch_size=16, max_batch_time=0.002), v2,
         "sklearn"),
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


def main(only: str = "") -> None:
    import mlflow.pyfunc

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work_dir = Path(tmp)
        model_dir, records = save_forest(work_dir)
        onnx_file, onnx_check = export_forest(model_dir, records, work_dir)
        print(f"ONNX export {onnx_check}", flush=True)
        predictors = {"sklearn": mlflow.pyfunc.load_model(str(model_dir)),
                      "onnx": OnnxPredictor(str(onnx_file))}
        cells: list[Cell] = []
        for name, server, target, floor_of in servers(model_dir, onnx_file, work_dir):
            if only and only not in name:
                continue
            with server() as port:
                floors = {kind: in_process_floor(predictor, records)
                          for kind, predictor in predictors.items()}
                for rows in ROWS:
                    body = target.body_of(records[:rows])
                    for clients in CLIENTS:
                        cell = measure(f"{name} ({target.name})", port, target.path, body,
                                       rows, clients, floors[floor_of][rows]["p50_ms"],
                                       floors["sklearn"][rows]["p50_ms"])
                        print(cell, flush=True)
                        cells.append(cell)
    if only:
        return
    results = [{**asdict(c), "over_floor_ms": c.over_floor_ms} for c in cells]
    save_results("serving", {"cells": results, "goals": goals(cells), "onnx_check": onnx_check},
                 table(cells, onnx_check))


def goals(cells: list[Cell]) -> dict[str, object]:
    def cell(server: str, rows: int, clients: int) -> Cell:
        return next(c for c in cells if c.server.startswith(server + " (")
                    and c.rows == rows and c.clients == clients)

    baseline, default = "mlflow models serve", DEFAULT_SERVER
    onnx = f"{DEFAULT_SERVER}, ONNX export"
    return {
        "default_throughput_ratio_16_clients_1_row": round(
            cell(default, 1, 16).requests_per_s / cell(baseline, 1, 16).requests_per_s, 2),
        "default_p50_1_row_over_floor_ms": cell(default, 1, 1).over_floor_ms,
        "mlflow_p50_1_row_over_floor_ms": cell(baseline, 1, 1).over_floor_ms,
        "onnx_p50_1_row_ms": cell(onnx, 1, 1).p50_ms,
        "onnx_floor_1_row_ms": cell(onnx, 1, 1).floor_p50_ms,
        "sklearn_floor_1_row_ms": cell(onnx, 1, 1).sklearn_floor_p50_ms,
        "onnx_throughput_ratio_16_clients_1_row": round(
            cell(onnx, 1, 16).requests_per_s / cell(baseline, 1, 16).requests_per_s, 2),
    }


def table(cells: list[Cell], onnx_check: str) -> str:
    rows = [[c.server, c.rows, c.clients, c.p50_ms, c.p99_ms, c.requests_per_s, c.errors,
             c.floor_p50_ms, c.sklearn_floor_p50_ms, c.over_floor_ms if c.clients == 1 else "",
             c.load_1m] for c in cells]
    summary = goals(cells)
    headers = ["server", "rows", "clients", "p50 ms", "p99 ms", "req/s", "errors",
               "floor p50 ms (its path)", "sklearn floor p50 ms", "p50 over floor ms",
               "load 1m"]
    return (
        markdown_table(headers, rows)
        + f"\n\nDefault configuration, 1-row requests on /invocations: at 16 clients "
        f"{summary['default_throughput_ratio_16_clients_1_row']}x the req/s of "
        f"`mlflow models serve` (goal >= 2x); at 1 client its p50 is "
        f"{summary['default_p50_1_row_over_floor_ms']} ms over the in-process predict "
        f"(goal <= 2 ms; `mlflow models serve`: {summary['mlflow_p50_1_row_over_floor_ms']} ms)."
        f"\n\nCompiled path (the forest's ONNX export, {onnx_check}): 1-row p50 "
        f"{summary['onnx_p50_1_row_ms']} ms against an ONNX Runtime floor of "
        f"{summary['onnx_floor_1_row_ms']} ms and a scikit-learn floor of "
        f"{summary['sklearn_floor_1_row_ms']} ms; at 16 clients "
        f"{summary['onnx_throughput_ratio_16_clients_1_row']}x the req/s of "
        "`mlflow models serve`."
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
