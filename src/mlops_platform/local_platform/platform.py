"""`up`, `down` and `status` of the embedded local platform.

One MLflow tracking server (with its model registry) on the loopback interface;
all state in one directory, so runs, models and artifacts survive a restart. MLflow's
Prometheus exporter is on, its metrics on a port of their own without login
(``mlops_platform.monitoring.tracking_server``, as on Kubernetes), on the loopback interface
too.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, exc, make_url

from mlops_platform.contract import LOCAL_ENVIRONMENT, LOCAL_PLATFORM_PORT, PlatformOutputs
from mlops_platform.local_platform import auth, state
from mlops_platform.local_platform.settings import LocalPlatformSettings
from mlops_platform.monitoring import tracking_server
from mlops_platform.processes import (
    ServerStartError,
    free_port,
    http_ok,
    port_is_free,
    start_process_group,
    stop_process_group,
    wait_until_healthy,
)


class PlatformError(RuntimeError):
    """A problem the user can fix; the message names it and the fix."""


@dataclass(frozen=True)
class UpResult:
    outputs: PlatformOutputs
    already_running: bool
    metrics_url: str = ""  # MLflow's Prometheus exporter, no login


def up(settings: LocalPlatformSettings) -> UpResult:
    """Start the tracking server unless it already runs, and write the outputs file."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    running = state.running_record(settings.state_dir)
    if running is not None:
        return UpResult(
            outputs=_outputs(running.url, running.artifact_store_uri), already_running=True,
            metrics_url=running.metrics_url)
    port = choose_port(settings)
    metrics_port = choose_metrics_port(settings)
    _check_stores(settings)
    url = f"http://{settings.host}:{port}"
    environment = settings.server_environment()
    credentials = auth.load_or_create(settings.state_dir) if settings.auth else None
    if credentials is not None:
        environment |= auth.server_environment(settings.state_dir, credentials)
    process = start_process_group(
        _server_command(settings, port, metrics_port),
        state.log_path(settings.state_dir),
        env=environment,
    )
    try:
        wait_until_healthy(
            f"{url}/health", process, state.log_path(settings.state_dir), settings.startup_timeout
        )
        if credentials is not None:
            auth.create_gate_user(url, credentials)
    except ServerStartError as err:
        stop_process_group(process.pid)
        raise PlatformError(f"the MLflow server did not start: {err}") from err
    except auth.AuthSetupError as err:
        stop_process_group(process.pid)
        raise PlatformError(str(err)) from err
    except BaseException:
        # Ctrl-C while waiting: no record is written yet, so `down` could not find it later.
        stop_process_group(process.pid)
        raise
    metrics_url = f"http://{settings.host}:{metrics_port}/metrics"
    state.write_record(
        settings.state_dir,
        state.ServerRecord(
            pid=process.pid,
            pgid=process.pid,
            url=url,
            backend_store_uri_redacted=redact(settings.effective_backend_store_uri),
            artifact_store_uri=settings.artifact_store_uri,
            metrics_url=metrics_url,
        ),
    )
    outputs = _outputs(url, settings.artifact_store_uri)
    outputs.write(state.outputs_path(settings.state_dir))
    return UpResult(outputs=outputs, already_running=False, metrics_url=metrics_url)


def down(state_dir: Path) -> bool:
    """Stop the server this state directory started; False when none was running."""
    record = state.running_record(state_dir.absolute())
    if record is None:
        return False
    stop_process_group(record.pgid)
    state.forget(state_dir.absolute())
    return True


def status(state_dir: Path) -> state.ServerRecord | None:
    return state.running_record(state_dir.absolute())


def checked_status(state_dir: Path) -> state.ServerRecord | None:
    """The record of a server that runs and answers; None when the platform is simply down.

    A broken state raises PlatformError naming it and the fix, and changes nothing: a record
    that cannot be read, a recorded server that is gone, a server that does not answer.
    """
    state_dir = state_dir.absolute()
    path, log = state.record_path(state_dir), state.log_path(state_dir)
    if not path.exists():
        return None
    record = state.read_record(state_dir)
    if record is None:
        raise PlatformError(f"{path} cannot be read; `make platform-up` starts the platform "
                            "and replaces it")
    if not state.is_running(record):
        raise PlatformError(f"the server recorded in {path} (pid {record.pid}) is no longer "
                            f"running (its log: {log}); `make platform-up` starts it again")
    if not http_ok(f"{record.url}/health"):
        raise PlatformError(f"the server at {record.url} (pid {record.pid}) runs but does not "
                            f"answer {record.url}/health (its log: {log}); restart it: "
                            "`make platform-down`, then `make platform-up`")
    return record


def redact(url: str) -> str:
    if url.startswith("sqlite"):
        return url
    return make_url(url).render_as_string(hide_password=True)


def _outputs(url: str, artifact_store_uri: str) -> PlatformOutputs:
    return PlatformOutputs(
        tracking_uri=url,
        registry_uri=url,
        artifact_store_uri=artifact_store_uri,
        serving_endpoint="",
        environment=LOCAL_ENVIRONMENT,
        namespace=LOCAL_ENVIRONMENT,
    )


def _server_command(settings: LocalPlatformSettings, port: int, metrics_port: int) -> list[str]:
    server = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        settings.host,
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        settings.effective_backend_store_uri,
        "--serve-artifacts",
        "--artifacts-destination",
        settings.artifacts_destination,
        *(auth.SERVER_ARGS if settings.auth else ()),
    ]
    return tracking_server.wrapped(sys.executable, server, metrics_port=metrics_port,
                                   metrics_host=settings.host,
                                   metrics_dir=str(state.metrics_dir(settings.state_dir)))


def choose_port(settings: LocalPlatformSettings) -> int:
    """The port asked for, else the last `up`'s, else the default if free, else a free one.

    Keeping the last port keeps every baked project's platform_outputs.json pointing at
    a live server across `down` and `up`.
    """
    if settings.port == 0:
        return free_port(settings.host)
    if settings.port is not None:
        return _free_or_refused(settings.port, settings.host, "")
    remembered = state.remembered_port(settings.state_dir)
    if remembered is not None:
        return _free_or_refused(remembered, settings.host, " (the last `up` served there)")
    if port_is_free(LOCAL_PLATFORM_PORT, settings.host):
        return LOCAL_PLATFORM_PORT
    return free_port(settings.host)


def choose_metrics_port(settings: LocalPlatformSettings) -> int:
    """The metrics port asked for, else a free one."""
    if settings.metrics_port == 0:
        return free_port(settings.host)
    return _free_or_refused(settings.metrics_port, settings.host, "", flag="--metrics-port")


def _free_or_refused(port: int, host: str, why: str, flag: str = "--port") -> int:
    if not port_is_free(port, host):
        raise PlatformError(
            f"port {port} on {host}{why} is busy: stop what listens there or choose another "
            f"with {flag} N (0 picks a free one)"
        )
    return port


def _check_stores(settings: LocalPlatformSettings) -> None:
    if settings.backend_store_uri.startswith("postgresql"):
        _check_database(settings.backend_store_uri)
    if settings.s3:
        _check_bucket(settings)


def _check_database(url: str) -> None:
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            pass
    except exc.SQLAlchemyError as err:
        reason = str(getattr(err, "orig", err)).strip().splitlines()[0]
        raise PlatformError(
            f"cannot reach the database {redact(url)}: {reason}; start it or fix "
            "--backend-store-uri"
        ) from err
    finally:
        engine.dispose()


def _check_bucket(settings: LocalPlatformSettings) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops_platform.tools.s3 import s3_client

    assert settings.s3 is not None
    missing = settings.missing_s3_credentials()
    if missing:
        raise PlatformError(f"S3 artifact store needs {' and '.join(missing)} in the environment")
    client = s3_client(settings.s3.endpoint_url or None)
    try:
        client.head_bucket(Bucket=settings.s3.bucket)
    except (BotoCoreError, ClientError) as err:
        where = settings.s3.endpoint_url or "AWS S3"
        raise PlatformError(
            f"S3 bucket {settings.s3.bucket!r} is not reachable at {where}: {err}; create it "
            "or fix --s3-bucket / --s3-endpoint-url"
        ) from err
