"""Real servers for tests: each on 127.0.0.1, in its own process group, always stopped."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlops_platform.local_platform as local_platform
from mlops_platform.contract import PlatformOutputs
from mlops_platform.processes import (
    free_port,
    process_is_running,
    start_process_group,
    stop_process_group,
    wait_until_healthy,
)
from mlops_platform.tracking_auth import basic_auth_ini
from tests.support.prometheus import tool


def processes_mentioning(text: str) -> list[str]:
    """``pid: command line`` of every live process whose command line names ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and process_is_running(int(entry.name)):
            found.append(f"{entry.name}: {cmdline}")
    return found


@contextlib.contextmanager
def running_local_platform(state_dir: Path, **settings: object) -> Iterator[PlatformOutputs]:
    """`up`, then `down` whatever happens; on any free port unless ``port`` says otherwise."""
    settings.setdefault("port", 0)  # port=None: the platform's own choice (remembered, 5000, ...)
    result = local_platform.up(
        local_platform.LocalPlatformSettings(state_dir=state_dir, **settings)
    )
    try:
        yield result.outputs
    finally:
        local_platform.down(state_dir)


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    database: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


def postgres_bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: `apt-get install postgresql` (.ci/run does)"
        )
    return Path(found[-1]).parent


def _as_postgres_user() -> list[str]:
    # initdb and postgres refuse to run as root; CI runs as root.
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@contextlib.contextmanager
def running_postgres(base_dir: Path) -> Iterator[Postgres]:
    """A throw-away PostgreSQL cluster, trust auth on 127.0.0.1, removed afterwards."""
    bin_dir = postgres_bin_dir()
    # pytest's tmp dirs are private to root; the postgres user needs a dir of its own.
    cluster_dir = Path(tempfile.mkdtemp(prefix="mlops-test-pg-"))
    data_dir, socket_dir = cluster_dir / "data", cluster_dir / "socket"
    data_dir.mkdir()
    socket_dir.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (cluster_dir, data_dir, socket_dir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    base_dir.mkdir(parents=True, exist_ok=True)
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    subprocess.run(
        [
            *_as_postgres_user(),
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            user,
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = base_dir / "postgres.log"
    process = start_process_group(
        [
            *_as_postgres_user(),
            str(bin_dir / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-k",
            str(socket_dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        log,
    )
    try:
        _wait_for_postgres(bin_dir, port, process, log)
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, "mlflow"],
            check=True,
            capture_output=True,
        )
        yield Postgres(host="127.0.0.1", port=port, user=user, database="mlflow")
    finally:
        stop_process_group(process.pid)
        shutil.rmtree(cluster_dir, ignore_errors=True)


def _wait_for_postgres(
    bin_dir: Path, port: int, process: subprocess.Popen[bytes], log: Path
) -> None:
    # pg_isready answers at once while the server is not listening yet: poll it.
    command = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-t", "2"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if subprocess.run(command, capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not start: {log.read_text(errors='replace')[-2000:]}")


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    access_key: str = "testing"
    secret_key: str = "testing"  # moto accepts any credentials

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


@contextlib.contextmanager
def running_moto_s3(base_dir: Path) -> Iterator[S3Endpoint]:
    """moto's standalone server as an in-memory S3 endpoint on 127.0.0.1."""
    port = free_port()
    log = base_dir / "moto.log"
    moto_server = Path(sys.executable).parent / "moto_server"
    process = start_process_group([str(moto_server), "-H", "127.0.0.1", "-p", str(port)], log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(f"{url}/moto-api/", process, log, timeout=60)
        yield S3Endpoint(url=url)
    finally:
        stop_process_group(process.pid)


@dataclass(frozen=True)
class AuthServer:
    """An MLflow server running the basic-auth app, and its admin's credentials."""

    url: str
    admin_username: str
    admin_password: str

    def admin_environment(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_USERNAME": self.admin_username,
                "MLFLOW_TRACKING_PASSWORD": self.admin_password}


@contextlib.contextmanager
def running_basic_auth_mlflow(base_dir: Path, app_name: str = "basic-auth",
                              env: dict[str, str] | None = None) -> Iterator[AuthServer]:
    """`mlflow server --app-name basic-auth` (or another auth app) on SQLite, a free port on
    127.0.0.1, then stopped."""
    base_dir.mkdir(parents=True, exist_ok=True)
    admin = AuthServer("", "admin", "admin-password-for-tests")
    auth_config = base_dir / "basic_auth.ini"
    auth_config.write_text(basic_auth_ini(f"sqlite:///{base_dir / 'auth.db'}",
                                          admin_username=admin.admin_username,
                                          admin_password=admin.admin_password))
    port = free_port()
    log = base_dir / "mlflow-auth.log"
    process = start_process_group(
        [sys.executable, "-m", "mlflow", "server", "--app-name", app_name,
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{base_dir / 'mlflow.db'}",
         "--artifacts-destination", str(base_dir / "artifacts")],
        log,
        env={"MLFLOW_AUTH_CONFIG_PATH": str(auth_config),
             "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
             "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-secret-key", **(env or {})},
        cwd=base_dir)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(f"{url}/health", process, log, timeout=90)
        yield AuthServer(url, admin.admin_username, admin.admin_password)
    finally:
        stop_process_group(process.pid)


@dataclass(frozen=True)
class Pushgateway:
    url: str


@contextlib.contextmanager
def running_pushgateway(base_dir: Path) -> Iterator[Pushgateway]:
    """Debian's prometheus-pushgateway on 127.0.0.1 (.ci/run installs it), then stopped."""
    binary = tool("prometheus-pushgateway", package="prometheus-pushgateway")
    base_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = base_dir / "pushgateway.log"
    process = start_process_group(
        [binary, f"--web.listen-address=127.0.0.1:{port}",
         f"--persistence.file={base_dir / 'pushgateway.data'}"], log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(f"{url}/-/ready", process, log, timeout=30)
        yield Pushgateway(url)
    finally:
        stop_process_group(process.pid)


def interruptible() -> None:
    """``preexec_fn`` for a child that a test stops with Ctrl-C's SIGINT.

    A job started in the background by a non-interactive shell (as CI runners may start
    ``.ci/run``) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt
    handler; the child gets the default back, as it has in a terminal.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
