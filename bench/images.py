"""Container images: size, build time from a warm cache, and time from start to ready.

`make images` runs once first (untimed); then each image is rebuilt alone with
`make images IMAGE_DIRS=<folder>`, every layer cached (the tools image reinstalls the
mlops-platform wheel, rebuilt from this checkout). Start-to-ready runs each image as the
pods do (read-only root, tmpfs /tmp, user 10001, no capabilities) and times from
`podman run` to the first good answer: MLflow's /health; MLServer's model readiness with a
100-tree forest (skops format) loaded; a `psql` query for the PostgreSQL stand-in; an HTTP
answer from the object store stand-in. The tools image is a job: its figure is
`mlops-drift --help` from `podman run` to exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import tomllib
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.machine import markdown_table, save_results
from mlops_platform.processes import free_port, http_ok

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": os.environ.get(
    "CONTAINERS_CONF", str(REPO_ROOT / "infra" / "images" / "containers.conf"))}
HARDENED = ["--read-only", "--tmpfs", "/tmp", "--user", "10001", "--cap-drop", "ALL",  # noqa: S108
            "--security-opt", "no-new-privileges"]
# image name -> its folder under infra/images (the Makefile's IMAGE_DIRS)
FOLDERS = {"mlflow-server": "mlflow-server", "serving": "serving", "tools": "tools",
           "standin-postgres": "standins/postgres",
           "standin-object-store": "standins/object-store"}
READY_TIMEOUT = 180.0
PG_PASSWORD = "bench-password"  # noqa: S105 - a throwaway container's


def podman(*arguments: str, timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *arguments], capture_output=True, text=True,
                          timeout=timeout, env=PODMAN_ENV)


def make_images(*overrides: str) -> float:
    started = time.perf_counter()
    subprocess.run(["make", "--no-print-directory", "images", *overrides], cwd=REPO_ROOT,
                   check=True, capture_output=True, timeout=3600)
    return round(time.perf_counter() - started, 1)


def image_ref(name: str) -> str:
    return f"localhost/mlops-platform/{name}:{VERSION}"


def image_mb(name: str) -> float:
    result = podman("image", "inspect", "--format", "{{.Size}}", image_ref(name))
    return round(int(result.stdout.strip()) / 1e6, 1)


def seconds_to_ready(name: str, options: list[str], command: list[str],
                     ready: Callable[[str], bool]) -> float:
    container = f"bench-images-{uuid.uuid4().hex[:10]}"
    started = time.perf_counter()
    try:
        run = podman("run", "--detach", "--name", container, *HARDENED, *options,
                     image_ref(name), *command)
        if run.returncode != 0:
            raise RuntimeError(f"{name} did not start: {run.stderr}")
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready(container):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready: {podman('logs', container).stderr[-2000:]}")
            time.sleep(0.1)
        return round(time.perf_counter() - started, 2)
    finally:
        podman("rm", "--force", "--time", "2", container)


def mlflow_server_ready() -> float:
    port = free_port()
    return seconds_to_ready(
        "mlflow-server",
        ["-p", f"127.0.0.1:{port}:5000", "--env", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false"],
        ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000",  # noqa: S104
         "--backend-store-uri", "sqlite:////tmp/m.db", "--workers", "1"],
        lambda _: http_ok(f"http://127.0.0.1:{port}/health"))


def serving_ready(models: Path) -> float:
    port = free_port()
    return seconds_to_ready(
        "serving", ["-p", f"127.0.0.1:{port}:8080", "-v", f"{models}:/mnt/models:ro"], [],
        lambda _: http_ok(f"http://127.0.0.1:{port}/v2/models/forest/ready"))


def postgres_ready() -> float:
    query = ["env", f"PGPASSWORD={PG_PASSWORD}", "psql", "--host", "127.0.0.1", "--username",
             "mlflow", "--dbname", "mlflow", "--command", "SELECT 1"]
    return seconds_to_ready(
        "standin-postgres", ["--env", "POSTGRES_USER=mlflow", "--env",
                             f"POSTGRES_PASSWORD={PG_PASSWORD}", "--env", "PGDATA=/tmp/pgdata"],
        [], lambda container: podman("exec", container, *query).returncode == 0)


def object_store_ready() -> float:
    port = free_port()
    return seconds_to_ready(
        "standin-object-store", ["-p", f"127.0.0.1:{port}:8333"], [],
        lambda _: http_ok(f"http://127.0.0.1:{port}/"))


def tools_run() -> float:
    started = time.perf_counter()
    result = podman("run", "--rm", "--name", f"bench-images-{uuid.uuid4().hex[:10]}",
                    *HARDENED, image_ref("tools"), "mlops-drift", "--help")
    if result.returncode != 0:
        raise RuntimeError(f"tools: {result.stderr}")
    return round(time.perf_counter() - started, 2)


def model_folder(folder: Path) -> Path:
    """A model repository MLServer loads: the serving bench's forest and its settings."""
    from bench.serving import save_forest

    models = folder / "models"
    models.mkdir()
    model_dir, _ = save_forest(models)
    (model_dir / "model-settings.json").write_text(json.dumps({
        "name": "forest", "implementation": "mlserver_mlflow.MLflowRuntime",
        "parameters": {"uri": "/mnt/models/forest"}}))
    # The container's user (10001) reads what this process (root, umask 077 dirs) wrote.
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return models


def main() -> None:
    make_images()
    results = {name: {"size_mb": image_mb(name),
                      "warm_build_s": make_images(f"IMAGE_DIRS={folder}")}
               for name, folder in FOLDERS.items()}
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        models = model_folder(Path(tmp))
        ready = {"mlflow-server": mlflow_server_ready, "serving": lambda: serving_ready(models),
                 "tools": tools_run, "standin-postgres": postgres_ready,
                 "standin-object-store": object_store_ready}
        for name, measure in ready.items():
            results[name]["start_to_ready_s"] = measure()
            print(name, results[name], flush=True)
    rows = [[name, r["size_mb"], r["warm_build_s"], r["start_to_ready_s"]]
            for name, r in results.items()]
    table = markdown_table(["image", "size MB", "build s (warm cache)",
                            "start to ready s (tools: run to exit)"], rows)
    save_results("images", results, table)


if __name__ == "__main__":
    main()
