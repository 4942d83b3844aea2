"""The embedded local platform, with a real MLflow server: state survives down and up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

import mlops_platform.local_platform as local_platform
from mlops_platform.client.tracking import TrackingServerError, reachable_target
from mlops_platform.contract import OUTPUT_KEYS, read_outputs
from mlops_platform.local_platform import auth as local_platform_auth
from mlops_platform.local_platform import state
from mlops_platform.monitoring.catalog import TRACKING_REQUESTS
from mlops_platform.processes import free_port, process_is_running
from mlops_platform.scaffold.platform_outputs import OUTPUTS_FILE, local_platform_outputs
from tests.support.scrape import scrape, values
from tests.support.servers import (
    S3Endpoint,
    running_local_platform,
    running_moto_s3,
    running_postgres,
)

MODEL_NAME = "iris-smoke"


def log_and_register(tracking_uri: str) -> tuple[str, str]:
    """Log a run with params, metrics, an artifact and a model; register it as challenger."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("local-platform-test")
    with mlflow.start_run() as run:
        mlflow.log_params({"C": 0.5, "solver": "lbfgs"})
        mlflow.log_metric("accuracy", 0.93)
        mlflow.log_text("hello from the test", "notes/hello.txt")
        model = LogisticRegression(C=0.5).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    version = mlflow.register_model(info.model_uri, MODEL_NAME).version
    MlflowClient(tracking_uri).set_registered_model_alias(MODEL_NAME, "challenger", version)
    return run.info.run_id, version


def assert_everything_found(tracking_uri: str, run_id: str, version: str) -> None:
    client = MlflowClient(tracking_uri)
    run = client.get_run(run_id)
    assert run.data.params == {"C": "0.5", "solver": "lbfgs"}
    assert run.data.metrics == {"accuracy": 0.93}
    mlflow.set_tracking_uri(tracking_uri)
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello from the test"
    assert client.get_model_version_by_alias(MODEL_NAME, "challenger").version == version
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@challenger")
    assert list(model.predict([[0.0], [3.0]])) == [0, 1]


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    with running_postgres(tmp_path / "pg") as server:
        yield server.url


@pytest.mark.slow
def test_sqlite_state_survives_down_and_up(tmp_path: Path) -> None:
    state_dir = tmp_path / "platform"
    with running_local_platform(state_dir) as outputs:
        run_id, version = log_and_register(outputs.tracking_uri)
    assert local_platform.status(state_dir) is None
    with running_local_platform(state_dir) as outputs:
        assert_everything_found(outputs.tracking_uri, run_id, version)
    assert (state_dir / "mlflow.db").is_file()


@pytest.mark.slow
def test_postgresql_backend_state_survives_down_and_up(tmp_path: Path, postgres_url: str) -> None:
    state_dir = tmp_path / "platform"
    with running_local_platform(state_dir, backend_store_uri=postgres_url) as outputs:
        run_id, version = log_and_register(outputs.tracking_uri)
    with running_local_platform(state_dir, backend_store_uri=postgres_url) as outputs:
        assert_everything_found(outputs.tracking_uri, run_id, version)
    assert not (state_dir / "mlflow.db").exists(), "SQLite must not be used with a database URL"


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Endpoint]:
    with running_moto_s3(tmp_path) as endpoint:
        for name, value in endpoint.environment().items():
            monkeypatch.setenv(name, value)
        boto3.client("s3", endpoint_url=endpoint.url).create_bucket(Bucket="mlflow-artifacts")
        yield endpoint


@pytest.mark.slow
def test_artifacts_are_proxied_to_s3(tmp_path: Path, s3: S3Endpoint) -> None:
    store = local_platform.S3ArtifactStore(bucket="mlflow-artifacts", endpoint_url=s3.url)
    with running_local_platform(tmp_path / "platform", s3=store) as outputs:
        assert outputs.artifact_store_uri == "s3://mlflow-artifacts/mlflow"
        run_id, _ = log_and_register(outputs.tracking_uri)
        assert_everything_found(outputs.tracking_uri, run_id, "1")
    keys = [
        obj["Key"]
        for obj in boto3.client("s3", endpoint_url=s3.url).list_objects_v2(
            Bucket="mlflow-artifacts"
        )["Contents"]
    ]
    assert any(key.endswith(f"{run_id}/artifacts/notes/hello.txt") for key in keys), keys
    assert not (tmp_path / "platform" / "artifacts").exists()


def test_outputs_file_has_the_contract_keys(shared_platform_outputs_file: Path) -> None:
    written = json.loads(shared_platform_outputs_file.read_text())
    assert tuple(written) == OUTPUT_KEYS
    outputs = read_outputs(shared_platform_outputs_file)
    assert outputs.environment == "local"
    assert outputs.registry_uri == outputs.tracking_uri.rstrip("/")
    assert outputs.artifact_store_uri.startswith("file://")


def test_second_up_says_so_and_changes_nothing(shared_platform_dir: Path, shared_platform) -> None:
    state_dir = shared_platform_dir / "state"
    before = state.read_record(state_dir)
    result = local_platform.up(local_platform.LocalPlatformSettings(state_dir=state_dir))
    assert result.already_running
    assert result.outputs == shared_platform
    assert state.read_record(state_dir) == before
    assert before is not None and process_is_running(before.pid)


def test_the_tracking_servers_metrics_count_each_request(shared_platform_dir: Path,
                                                         shared_platform) -> None:
    record = state.read_record(shared_platform_dir / "state")
    assert record is not None and record.metrics_url.startswith("http://127.0.0.1:")
    ok = {"method": "GET", "status": "200"}
    before = sum(values(scrape(record.metrics_url), TRACKING_REQUESTS, **ok))
    searched = httpx.get(f"{shared_platform.tracking_uri}/api/2.0/mlflow/experiments/search",
                         params={"max_results": 1}, timeout=30)
    assert searched.status_code == 200
    assert sum(values(scrape(record.metrics_url), TRACKING_REQUESTS, **ok)) >= before + 1


@pytest.mark.slow
def test_an_explicit_port_wins_and_is_remembered(tmp_path: Path) -> None:
    state_dir = tmp_path / "platform"
    with running_local_platform(state_dir, port=0):
        pass
    port = free_port()
    with running_local_platform(state_dir, port=port) as outputs:
        assert outputs.tracking_uri == f"http://127.0.0.1:{port}"
    with running_local_platform(state_dir, port=None) as outputs:
        assert outputs.tracking_uri == f"http://127.0.0.1:{port}"


@pytest.mark.slow
def test_a_project_baked_while_the_platform_is_down_finds_the_next_up(tmp_path: Path) -> None:
    checkout = tmp_path / "platform-checkout"
    state_dir = checkout / ".platform"
    with running_local_platform(state_dir, port=0):
        pass
    baked_while_down = local_platform_outputs(checkout)
    with running_local_platform(state_dir, port=None) as running:
        assert baked_while_down == running
        assert local_platform_outputs(checkout) == running


@pytest.mark.slow
def test_a_project_step_against_a_stopped_local_platform_says_so_in_one_line(
        tmp_path: Path) -> None:
    project = tmp_path / "project"
    with running_local_platform(tmp_path / "platform") as outputs:
        outputs.write(project / OUTPUTS_FILE)
        assert reachable_target(project).tracking_uri == outputs.tracking_uri
    with pytest.raises(TrackingServerError) as raised:
        reachable_target(project)
    assert str(raised.value) == (
        f"no local platform answers at {outputs.tracking_uri}: start it with "
        "`make platform-up` in the platform repository")


@pytest.mark.slow
def test_with_auth_only_the_gates_user_moves_champion(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state_dir = tmp_path / "state"
    with running_local_platform(state_dir, auth=True) as outputs:
        credentials = json.loads(local_platform_auth.credentials_path(state_dir).read_text())
        assert local_platform_auth.credentials_path(state_dir).stat().st_mode & 0o077 == 0
        client = MlflowClient(outputs.tracking_uri)  # credentials from the environment
        with pytest.raises(MlflowException, match=r"401|Unauthorized|credentials"):
            client.search_registered_models()
        record = state.read_record(state_dir)
        assert record is not None
        assert httpx.get(f"{outputs.tracking_uri}/metrics", timeout=30).status_code == 401
        # The metrics port needs no login, and counts the refusal.
        assert values(scrape(record.metrics_url), TRACKING_REQUESTS, status="401")

        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", credentials["admin_username"])
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", credentials["admin_password"])
        _, version = log_and_register(outputs.tracking_uri)  # sets `challenger`: allowed
        with pytest.raises(MlflowException, match="only the promotion gate's identity"):
            client.set_registered_model_alias(MODEL_NAME, "champion", version)

        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", credentials["gate_username"])
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", credentials["gate_password"])
        client.set_registered_model_alias(MODEL_NAME, "champion", version)
        assert client.get_registered_model(MODEL_NAME).aliases["champion"] == version


def test_a_state_dirs_logins_are_read_back_as_they_were_created(tmp_path: Path) -> None:
    """The second `up --auth` of a folder reads the file the first wrote (which also names the
    users for people)."""
    created = local_platform_auth.load_or_create(tmp_path)
    assert json.loads(local_platform_auth.credentials_path(tmp_path).read_text())[
        "gate_username"]
    assert local_platform_auth.load_or_create(tmp_path) == created
