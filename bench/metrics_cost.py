"""What serving metrics cost per request, in-process, without the machine's load in the way.

The served comparison (``bench/serving.py``, metrics on vs off) is wall-clock under whatever
else runs; this one times the two pieces of code metrics add to every request, in MLServer's
own environment (``.venv-mlserver``), each against the same code without them:

- the runtime's ``ServedMetrics`` (request counter, latency and rows histograms, the batch
  histogram) against ``Unmeasured``, in one process and with a multiprocess directory (as
  with parallel workers);
- MLServer's own REST middleware (starlette_exporter's ``PrometheusMiddleware``, added with
  MLServer's arguments whenever its metrics endpoint is on) on a FastAPI app with as many
  routes as MLServer's, against the same app without it.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from bench.machine import markdown_table, save_results
from mlops_platform.serving import runtime_path

MLSERVER_PYTHON = Path(__file__).resolve().parents[1] / ".venv-mlserver" / "bin" / "python"
REQUESTS = 20_000
REPEATS = 5

# Runs in .venv-mlserver, with the runtime's folder on its path; prints microseconds as JSON.
TIMINGS = r'''
import asyncio, json, sys, time, timeit

import mlops_platform.serving_runtime as runtime
from fastapi import FastAPI, Response
from starlette_exporter import PrometheusMiddleware

requests, repeats = int(sys.argv[1]), int(sys.argv[2])


def per_request(call):
    return min(timeit.repeat(call, number=requests, repeat=repeats)) / requests * 1e6


def recorder(metrics):
    def one():
        with metrics.invocations(time.perf_counter()) as measured:
            measured.rows = 1
        metrics.model_call(1)
    return one


def app(middleware):
    app = FastAPI()

    async def answer():
        return Response(content=b"{}", media_type="application/json")

    app.add_api_route("/invocations", answer, methods=["POST"])
    for index in range(20):  # MLServer's REST app has about twenty routes
        app.add_api_route(f"/v2/route{index}", answer, methods=["GET"])
    if middleware:  # as mlserver.rest.app.create_app adds it
        app.add_middleware(PrometheusMiddleware, app_name="mlserver", prefix="rest_server",
                           skip_paths=["/metrics", "/v2/health/live", "/v2/health/ready"])
    return app


async def asgi_per_request(application):
    scope = {"type": "http", "method": "POST", "path": "/invocations",
             "raw_path": b"/invocations", "headers": [(b"content-type", b"application/json")],
             "query_string": b"", "http_version": "1.1", "scheme": "http",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": ""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(requests):
            await application(scope, receive, send)
        best = min(best, (time.perf_counter() - started) / requests * 1e6)
    return best


labels = {"model": "bench", "version": "1", "trained_at": 0.0}
timings = {"runtime_off_us": per_request(recorder(runtime.UNMEASURED)),
           "runtime_on_us": per_request(recorder(runtime.ServedMetrics(labels, onnx=True)))}
timings["app_without_middleware_us"] = asyncio.run(asgi_per_request(app(False)))
timings["app_with_middleware_us"] = asyncio.run(asgi_per_request(app(True)))
print(json.dumps({name: round(value, 1) for name, value in timings.items()}))
'''


def timings(multiprocess: bool) -> dict[str, float]:
    """The script's timings; with ``multiprocess``, prometheus_client writes to a directory
    as it does in MLServer's parallel workers."""
    with tempfile.TemporaryDirectory(prefix="bench-metrics-cost-") as tmp:
        folder = runtime_path(Path(tmp))
        env = {"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"}
        if multiprocess:
            (Path(tmp) / "multiprocess").mkdir()
            env["PROMETHEUS_MULTIPROC_DIR"] = str(Path(tmp) / "multiprocess")
        result = subprocess.run(
            [str(MLSERVER_PYTHON), "-c", TIMINGS, str(REQUESTS), str(REPEATS)],
            cwd=folder, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise SystemExit(f"the timings failed in {MLSERVER_PYTHON}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    if not MLSERVER_PYTHON.is_file():
        raise SystemExit("MLServer's environment is missing: run `make .venv-mlserver/.installed`")
    measured = timings(multiprocess=False)
    measured["runtime_on_multiprocess_us"] = timings(multiprocess=True)["runtime_on_us"]
    ours = measured["runtime_on_us"] - measured["runtime_off_us"]
    ours_multiprocess = measured["runtime_on_multiprocess_us"] - measured["runtime_off_us"]
    mlserver = measured["app_with_middleware_us"] - measured["app_without_middleware_us"]
    rows = [["the runtime's metrics (ServedMetrics), one process", round(ours, 1)],
            ["the runtime's metrics, multiprocess directory (parallel workers)",
             round(ours_multiprocess, 1)],
            ["MLServer's REST middleware (starlette_exporter)", round(mlserver, 1)]]
    save_results("metrics_cost", {"timings_us": measured, "requests": REQUESTS,
                                  "repeats": REPEATS},
                 markdown_table(["what metrics add to each request", "microseconds"], rows)
                 + f"\n\nBest of {REPEATS} runs of {REQUESTS} calls each, in "
                 "`.venv-mlserver`; each figure is the difference to the same code without "
                 "metrics.")


if __name__ == "__main__":
    main()
