"""The local platform's command line as a user types it: real processes, real exit codes."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mlops_platform.contract import read_outputs
from mlops_platform.local_platform import state
from mlops_platform.processes import free_port
from tests.support.servers import processes_mentioning


def platform_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlops_platform.local_platform", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def up_url(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.split("UI: ", 1)[1].split()[0]


@contextlib.contextmanager
def listening_on(port: int) -> Iterator[None]:
    """Something else holds ``port`` (SO_REUSEADDR: our server's last connections may linger)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "platform-state"
    yield path
    platform_cli("down", "--state-dir", str(path))
    assert processes_mentioning(str(path)) == []


def test_busy_port_is_refused(state_dir: Path, busy_port: int) -> None:
    result = platform_cli("up", "--state-dir", str(state_dir), "--port", str(busy_port))
    assert_one_line_error(result, f"port {busy_port}", "busy", "--port")
    assert processes_mentioning(str(state_dir)) == []
    assert not (state_dir / "server.json").exists()


def test_busy_metrics_port_is_refused(state_dir: Path, busy_port: int) -> None:
    result = platform_cli("up", "--state-dir", str(state_dir), "--port", "0",
                          "--metrics-port", str(busy_port))
    assert_one_line_error(result, f"port {busy_port}", "busy", "--metrics-port N")
    assert processes_mentioning(str(state_dir)) == []


def test_unreachable_database_is_refused(state_dir: Path) -> None:
    url = f"postgresql://mlflow:secret-pw@127.0.0.1:{free_port()}/mlflow"
    result = platform_cli("up", "--state-dir", str(state_dir), "--backend-store-uri", url)
    assert_one_line_error(result, "cannot reach the database", "--backend-store-uri")
    assert "secret-pw" not in result.stderr, "the password must not be printed"
    assert processes_mentioning(str(state_dir)) == []


def test_unknown_option_is_refused(state_dir: Path) -> None:
    result = platform_cli("up", "--state-dir", str(state_dir), "--replicas", "3")
    assert result.returncode == 2
    assert_one_line_error(result, "unrecognized arguments: --replicas 3")
    assert processes_mentioning(str(state_dir)) == []


def test_unsupported_backend_is_refused(state_dir: Path) -> None:
    result = platform_cli("up", "--state-dir", str(state_dir), "--backend-store-uri", "mysql://x")
    assert_one_line_error(result, "--backend-store-uri", "not supported", "postgresql://")


def test_s3_without_credentials_is_refused(state_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = platform_cli(
        "up",
        "--state-dir",
        str(state_dir),
        "--s3-bucket",
        "models",
        "--s3-endpoint-url",
        f"http://127.0.0.1:{free_port()}",
        env=env,
    )
    assert_one_line_error(result, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    assert processes_mentioning(str(state_dir)) == []


@pytest.mark.slow
def test_up_status_down_cycle(state_dir: Path) -> None:
    assert platform_cli("status", "--state-dir", str(state_dir)).returncode == 0

    url = up_url(platform_cli("up", "--state-dir", str(state_dir), "--port", "0"))
    assert url.startswith("http://127.0.0.1:")

    status = platform_cli("status", "--state-dir", str(state_dir))
    assert status.returncode == 0 and f"up at {url}" in status.stdout
    assert "metrics: http://127.0.0.1:" in status.stdout

    again = platform_cli("up", "--state-dir", str(state_dir))
    assert again.returncode == 0 and "already running" in again.stdout and url in again.stdout

    down = platform_cli("down", "--state-dir", str(state_dir))
    assert down.returncode == 0 and "stopped" in down.stdout
    assert processes_mentioning(str(state_dir)) == []
    assert platform_cli("status", "--state-dir", str(state_dir)).stdout.startswith("down")


@pytest.mark.slow
def test_down_then_up_keeps_the_address(state_dir: Path) -> None:
    url = up_url(platform_cli("up", "--state-dir", str(state_dir), "--port", "0"))
    assert platform_cli("down", "--state-dir", str(state_dir)).returncode == 0

    assert up_url(platform_cli("up", "--state-dir", str(state_dir))) == url
    assert f"up at {url}" in platform_cli("status", "--state-dir", str(state_dir)).stdout


@pytest.mark.slow
def test_a_busy_remembered_port_is_refused_and_stays_remembered(state_dir: Path) -> None:
    url = up_url(platform_cli("up", "--state-dir", str(state_dir), "--port", "0"))
    platform_cli("down", "--state-dir", str(state_dir))
    port = urlsplit(url).port
    assert port is not None

    with listening_on(port):
        result = platform_cli("up", "--state-dir", str(state_dir))
    assert_one_line_error(result, f"port {port}", "busy", "--port N")
    assert processes_mentioning(str(state_dir)) == []
    assert not (state_dir / "server.json").exists()
    assert read_outputs(state_dir / "outputs.json").tracking_uri == url


def test_a_platform_that_is_down_is_an_answer_with_the_way_up(state_dir: Path) -> None:
    result = platform_cli("status", "--state-dir", str(state_dir))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (f"down: not running (state directory {state_dir}); start it "
                             "with make platform-up\n")
    as_json = platform_cli("status", "--state-dir", str(state_dir), "--json")
    assert (as_json.returncode, as_json.stdout) == (0, '{\n  "running": false\n}\n')


def record_server(state_dir: Path, pid: int, url: str) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    state.write_record(state_dir, state.ServerRecord(
        pid=pid, pgid=pid, url=url, backend_store_uri_redacted="sqlite:///x.db",
        artifact_store_uri="file:///artifacts"))
    return state.record_path(state_dir)


def test_a_record_of_a_server_that_is_gone_is_a_broken_state(state_dir: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    gone_pid = finished.pid
    record = record_server(state_dir, gone_pid, f"http://127.0.0.1:{free_port()}")

    result = platform_cli("status", "--state-dir", str(state_dir))
    assert_one_line_error(result, f"the server recorded in {record} (pid {gone_pid}) is no "
                          "longer running", "mlflow-server.log", "make platform-up")
    assert result.returncode == 1
    assert record.exists(), "status only reports; `up` replaces the record"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A live process that looks like the MLflow server to `status` but answers nothing."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()",
                                "mlflow", "server"], stdin=subprocess.PIPE,
                               start_new_session=True)
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def test_a_server_that_runs_but_does_not_answer_is_a_broken_state(
        state_dir: Path, silent_server: int) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    record_server(state_dir, silent_server, url)

    result = platform_cli("status", "--state-dir", str(state_dir))
    assert_one_line_error(result, f"the server at {url} (pid {silent_server}) runs but does "
                          f"not answer {url}/health", "make platform-down",
                          "then `make platform-up`")
    assert result.returncode == 1


def test_an_unreadable_record_is_a_broken_state(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    state.record_path(state_dir).write_text("{not json")
    result = platform_cli("status", "--state-dir", str(state_dir))
    assert_one_line_error(result, "server.json cannot be read", "make platform-up")


@pytest.mark.slow
def test_make_builds_the_platform_environment_with_the_uv_a_project_shares(tmp_path: Path) -> None:
    """`make platform-up`'s environment: uv from the machine's shared cache, no pip of its own."""
    repo_root = Path(__file__).resolve().parents[2]
    checkout = tmp_path / "platform"
    checkout.mkdir()
    for name in ("Makefile", "pyproject.toml", "requirements", "src"):
        source = repo_root / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, checkout / name)
    bootstrap_hash = subprocess.run(
        ["git", "hash-object", "requirements/bootstrap.txt"], cwd=checkout,
        capture_output=True, text=True, check=True).stdout.strip()
    cache = Path(os.environ.get("MLOPS_ENV_CACHE", Path.home() / ".cache/mlops-platform/envs"))

    result = subprocess.run(["make", ".venv-platform/.installed"], cwd=checkout,
                            capture_output=True, text=True, timeout=900)

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (cache / f"uv-{bootstrap_hash}" / "bin" / "uv").is_file()
    venv = checkout / ".venv-platform"
    assert not (venv / "bin" / "pip").exists() and not (venv / "bin" / "uv").exists()
    imported = subprocess.run(
        [str(venv / "bin/python"), "-c",
         "import mlflow.server.auth, mlops_platform; print(mlops_platform.__file__)"],
        capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == str(checkout / "src/mlops_platform/__init__.py")
