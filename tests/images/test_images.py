"""The images `make images` builds: non-root, read-only root filesystem, working entry points.

Each test runs the real image with podman the way the pod specs do (`--read-only`, a tmpfs
on /tmp, user 10001, no capabilities); containers get unique names and are always removed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import boto3
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import requests
from sklearn.ensemble import RandomForestClassifier

from mlops_platform.processes import free_port, http_ok
from tests.support.images import IMAGES, REPO_ROOT

pytestmark = pytest.mark.slow

PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": os.environ.get(
    "CONTAINERS_CONF", str(REPO_ROOT / "infra" / "images" / "containers.conf"))}
HARDENED = ["--read-only", "--tmpfs", "/tmp", "--user", "10001", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges"]
READY_TIMEOUT = 120.0


def podman(*arguments: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *arguments], capture_output=True, text=True,
                          timeout=timeout, env=PODMAN_ENV)


def remove(name: str, attempts: int = 5) -> None:
    """Remove the container, asking again while podman still lists it: under load a removal
    can fail once (the container was left behind, exited, by a full run)."""
    for _ in range(attempts):
        podman("rm", "--force", "--ignore", "--time", "2", name)
        if podman("container", "exists", name).returncode == 1:
            return
    raise AssertionError(f"container {name} is still there after {attempts} removals: "
                         f"{podman('rm', '--force', name).stderr}")


def image(name: str, version: str) -> str:
    return f"localhost/mlops-platform/{name}:{version}"


def run_once(image_ref: str, *command: str) -> subprocess.CompletedProcess[str]:
    # `--rm` alone leaves the container behind when podman itself is stopped (a timeout).
    name = f"test-images-{uuid.uuid4().hex[:10]}"
    try:
        return podman("run", "--rm", "--name", name, *HARDENED, image_ref, *command)
    finally:
        remove(name)


@contextmanager
def detached(image_ref: str, options: Sequence[str], command: Sequence[str] = ()
             ) -> Iterator[str]:
    name = f"test-images-{uuid.uuid4().hex[:10]}"
    try:
        started = podman("run", "--detach", "--name", name, *HARDENED, *options, image_ref,
                         *command)
        assert started.returncode == 0, started.stderr
        yield name
    finally:
        remove(name)


def wait_for(check, name: str, what: str) -> None:
    """Poll `check` until it holds; fail with the container's log at the deadline."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    logs = podman("logs", name)
    pytest.fail(f"{what} not ready within {READY_TIMEOUT:.0f} s:\n{logs.stdout[-3000:]}"
                f"{logs.stderr[-3000:]}")


def pinned_version(lock: str, package: str) -> str:
    text = (REPO_ROOT / "requirements" / lock).read_text()
    match = re.search(rf"^{re.escape(package)}==(\S+)", text, re.MULTILINE)
    assert match, f"{package} is not pinned in requirements/{lock}"
    return match.group(1)


@pytest.mark.parametrize("name", IMAGES)
def test_image_runs_as_the_unprivileged_user(platform_images: str, name: str) -> None:
    result = podman("image", "inspect", "--format", "{{.Config.User}}",
                    image(name, platform_images))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10001:10001"


def test_serving_image_carries_the_mlflow_that_trains_the_models(platform_images: str) -> None:
    result = run_once(image("serving", platform_images), "python", "-c",
                      "import mlflow, mlserver_mlflow; print(mlflow.__version__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == pinned_version("project.txt", "mlflow")


def saved_forest(folder: Path) -> tuple[Path, RandomForestClassifier, pd.DataFrame]:
    """A model folder MLServer loads (skops format, as projects save), readable by 10001."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["age", "income", "tenure"])
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(
        frame, (frame["age"] + frame["income"] > 0).astype(int))
    mlflow.sklearn.save_model(model, str(folder / "forest"), pip_requirements=["scikit-learn"],
                              serialization_format="skops",
                              skops_trusted_types=["sklearn.tree._tree.Tree"])
    (folder / "forest" / "model-settings.json").write_text(json.dumps({
        "name": "forest", "implementation": "mlserver_mlflow.MLflowRuntime",
        "parameters": {"uri": "/mnt/models/forest"}}))
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder, model, frame.head(5)


def test_serving_image_serves_a_model_saved_by_this_mlflow(platform_images: str,
                                                           tmp_path: Path) -> None:
    models, model, rows = saved_forest(tmp_path / "models")
    port = free_port()
    options = ["-p", f"127.0.0.1:{port}:8080", "-v", f"{models}:/mnt/models:ro"]
    with detached(image("serving", platform_images), options) as name:
        wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/v2/models/forest/ready"), name,
                 "MLServer")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", method="POST",
            data=json.dumps({"dataframe_split": rows.to_dict(orient="split")}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            predictions = json.loads(response.read())["predictions"]
    assert predictions == model.predict(rows).tolist()


def test_mlflow_server_answers_health_on_a_read_only_root(platform_images: str) -> None:
    port = free_port()
    options = ["-p", f"127.0.0.1:{port}:5000", "--env", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false"]
    command = ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000",  # noqa: S104
               "--backend-store-uri", "sqlite:////tmp/m.db", "--workers", "1"]
    with detached(image("mlflow-server", platform_images), options, command) as name:
        wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/health"), name, "mlflow server")


@pytest.mark.parametrize(("command", "flag"), [
    ("mlops-drift", "--reference"), ("mlops-performance", "--labels"),
    # The batch-scoring CronJob's: it imports the serving module, whose ONNX Runtime is
    # MLServer's side only.
    ("mlops-score", "--model-uri")])
def test_tools_image_runs_the_cronjobs_commands_read_only(platform_images: str, command: str,
                                                          flag: str) -> None:
    result = run_once(image("tools", platform_images), command, "--help")
    assert result.returncode == 0, result.stderr
    assert flag in result.stdout


def postgres_major(reference: str) -> int:
    """`postgres:15.8-alpine@sha256:…` -> 15."""
    tag = reference.split("@", 1)[0].rsplit(":", 1)[1]
    return int(re.match(r"\d+", tag)[0])


def configured_database_images() -> dict[str, str]:
    """The default database image and each committed stack's own, if it names one."""
    from infra.config import STACKS, PlatformConfig
    from mlops_platform.local_cluster.mocked_engine import stack_settings

    images = {"default": PlatformConfig.model_fields["database_image"].default}
    for stack in STACKS:
        image = stack_settings(stack).get("database_image")
        images.update({stack: image} if image else {})
    return images


def test_tools_image_backup_clients_match_the_configured_database(platform_images: str) -> None:
    """pg_restore refuses dumps of a newer server: the backups' clients and the database agree."""
    for client in ("pg_dump", "pg_restore"):
        result = run_once(image("tools", platform_images), client, "--version")
        assert result.returncode == 0, result.stderr
        major = int(re.search(rf"{client} \(PostgreSQL\) (\d+)", result.stdout)[1])
        for where, reference in configured_database_images().items():
            assert postgres_major(reference) == major, (
                f"{where} database image {reference} is not PostgreSQL {major}, the tools "
                f"image's {client}")


def test_postgres_standin_accepts_the_configured_user(platform_images: str) -> None:
    environment = ["--env", "POSTGRES_USER=mlflow", "--env", "POSTGRES_PASSWORD=s3cret-pw",
                   "--env", "POSTGRES_DB=tracking", "--env", "PGDATA=/tmp/pgdata"]
    query = ["env", "PGPASSWORD=s3cret-pw", "psql", "--host", "127.0.0.1", "--username",
             "mlflow", "--dbname", "tracking", "--tuples-only", "--command", "SELECT current_user"]
    with detached(image("standin-postgres", platform_images), environment) as name:
        wait_for(lambda: podman("exec", name, *query).returncode == 0, name, "postgres stand-in")
        answered = podman("exec", name, *query)
        assert answered.stdout.strip() == "mlflow"
        refused = podman("exec", name, "env", "PGPASSWORD=wrong", *query[2:])
        assert refused.returncode != 0
        assert "password authentication failed" in refused.stderr


def test_object_store_standin_serves_s3_on_the_seaweedfs_port(platform_images: str) -> None:
    port = free_port()
    options = ["-p", f"127.0.0.1:{port}:8333", "--env", "AWS_ACCESS_KEY_ID=platform",
               "--env", "AWS_SECRET_ACCESS_KEY=platform-secret"]
    with detached(image("standin-object-store", platform_images), options) as name:
        wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/"), name, "object store stand-in")
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="platform", aws_secret_access_key="platform-secret")
        s3.create_bucket(Bucket="mlflow")
        s3.put_object(Bucket="mlflow", Key="a/b.txt", Body=b"kept")
        assert s3.get_object(Bucket="mlflow", Key="a/b.txt")["Body"].read() == b"kept"


PROMETHEUS_CONFIG = """
global: {scrape_interval: 1s}
scrape_configs:
- job_name: pushgateway
  honor_labels: true
  static_configs: [{targets: ["pushgateway:9091"]}]
"""


def test_prometheus_standin_scrapes_what_the_pushgateway_standin_keeps(
        platform_images: str, tmp_path: Path) -> None:
    """One image stands in for prom/prometheus (its default entrypoint) and prom/pushgateway
    (`/bin/pushgateway`, that image's entrypoint): a pushed series reaches Prometheus."""
    reference = image("standin-prometheus", platform_images)
    name = f"test-images-{uuid.uuid4().hex[:10]}"
    config = tmp_path / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG)
    config.chmod(0o644)
    gateway_port, prometheus_port = free_port(), free_port()
    assert podman("network", "create", name).returncode == 0
    try:
        with detached(reference, ["--network", name, "--network-alias", "pushgateway",
                                  "-p", f"127.0.0.1:{gateway_port}:9091",
                                  "--entrypoint", "/bin/pushgateway"]) as gateway:
            wait_for(lambda: http_ok(f"http://127.0.0.1:{gateway_port}/-/ready"), gateway,
                     "pushgateway stand-in")
            push(f"http://127.0.0.1:{gateway_port}/metrics/job/images-test",
                 b"mlops_images_test_pushed 42\n")
            with detached(reference, ["--network", name, "-v", f"{name}:/prometheus",
                                      "-v", f"{config}:/etc/prometheus/prometheus.yml:ro",
                                      "-p", f"127.0.0.1:{prometheus_port}:9090"]) as prometheus:
                query = (f"http://127.0.0.1:{prometheus_port}/api/v1/query"
                         "?query=mlops_images_test_pushed")
                wait_for(lambda: query_values(query) == ["42"], prometheus,
                         "prometheus stand-in's scrape of the pushgateway")
    finally:
        podman("network", "rm", "--force", name)
        podman("volume", "rm", "--force", name)


def push(url: str, body: bytes) -> None:
    assert requests.post(url, data=body, timeout=10).status_code == 200


def query_values(url: str) -> list[str]:
    try:
        result = requests.get(url, timeout=5).json()["data"]["result"]
    except requests.RequestException:
        return []
    return [sample["value"][1] for sample in result]
