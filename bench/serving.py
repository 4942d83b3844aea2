"""Serving latency and throughput: our MLServer path beside `mlflow models serve`, same model.

A 100-tree random forest on the breast-cancer data (30 columns), saved once and served by
both. For 1-row and 100-row requests at 1, 4 and 16 concurrent keep-alive clients on
loopback, each cell runs for a bounded time and reports p50, p99 and requests/s; the
in-process ``predict`` of the same rows is the floor, measured again beside each server
(the machine is shared: a floor from another minute would compare unlike conditions).
One asyncio client drives every server the same way, so its cost is the same on both sides.

Goals (issue 7): at 16 clients >= 2x the req/s of `mlflow models serve`; 1-row p50 within
2 ms of the in-process floor.
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
            floor_p50_ms: float = 0.0) -> Cell:
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
                len(latencies), errors[0], floor_p50_ms)


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


def servers(model_dir: Path, work_dir: Path):
    """(name, server context, target); `ours` logs every request, as `make serve` does."""
    invocations = Target("/invocations", "/invocations", mlflow_body)
    v2 = Target("V2 infer", "/v2/models/model/infer", v2_body)
    return [
        ("mlflow models serve", lambda: mlflow_models_serve(model_dir, work_dir), invocations),
        ("ours, 1 worker", lambda: ours(model_dir, work_dir, workers=1), invocations),
        ("ours, 2 workers", lambda: ours(model_dir, work_dir, workers=2), invocations),
        ("ours, 2 workers, batching", lambda: ours(model_dir, work_dir, workers=2,
                                                   max_batch_size=16, max_batch_time=0.002), v2),
    ]


def main() -> None:
    import mlflow.pyfunc

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work_dir = Path(tmp)
        model_dir, records = save_forest(work_dir)
        model = mlflow.pyfunc.load_model(str(model_dir))
        cells: list[Cell] = []
        for name, server, target in servers(model_dir, work_dir):
            with server() as port:
                floor = in_process_floor(model, records)
                for rows in ROWS:
                    body = target.body_of(records[:rows])
                    for clients in CLIENTS:
                        cell = measure(f"{name} ({target.name})", port, target.path, body,
                                       rows, clients, floor[rows]["p50_ms"])
                        print(cell, flush=True)
                        cells.append(cell)
    results = [{**asdict(c), "over_floor_ms": c.over_floor_ms} for c in cells]
    save_results("serving", {"cells": results, "goals": goals(cells)}, table(cells))


def goals(cells: list[Cell]) -> dict[str, object]:
    baseline = next(c for c in cells if c.server.startswith("mlflow") and c.rows == 1
                    and c.clients == 16)
    ours_16 = [c for c in cells if not c.server.startswith("mlflow") and c.clients == 16]
    ours_1 = [c for c in cells if not c.server.startswith("mlflow") and c.rows == 1
              and c.clients == 1]
    best_16 = max((c for c in ours_16 if c.rows == 1), key=lambda c: c.requests_per_s)
    best_1 = min(ours_1, key=lambda c: c.over_floor_ms)
    mlflow_1 = next(c for c in cells if c.server.startswith("mlflow") and c.rows == 1
                    and c.clients == 1)
    return {
        "throughput_ratio_16_clients_1_row": round(best_16.requests_per_s
                                                   / baseline.requests_per_s, 2),
        "throughput_best_server": best_16.server,
        "p50_1_row_over_floor_ms": best_1.over_floor_ms,
        "p50_best_server": best_1.server,
        "mlflow_p50_1_row_over_floor_ms": mlflow_1.over_floor_ms,
    }


def table(cells: list[Cell]) -> str:
    rows = [[c.server, c.rows, c.clients, c.p50_ms, c.p99_ms, c.requests_per_s, c.errors,
             c.floor_p50_ms, c.over_floor_ms if c.clients == 1 else ""] for c in cells]
    summary = goals(cells)
    headers = ["server", "rows", "clients", "p50 ms", "p99 ms", "req/s", "errors",
               "in-process p50 ms", "p50 over floor ms"]
    return (
        markdown_table(headers, rows)
        + f"\n\nAt 16 clients, 1 row: {summary['throughput_best_server']} serves "
        f"{summary['throughput_ratio_16_clients_1_row']}x the req/s of `mlflow models serve` "
        f"(goal 2x). 1-row p50 over the in-process floor: "
        f"{summary['p50_1_row_over_floor_ms']} ms with {summary['p50_best_server']} "
        f"(goal <= 2 ms), {summary['mlflow_p50_1_row_over_floor_ms']} ms for "
        "`mlflow models serve`."
    )


if __name__ == "__main__":
    main()
