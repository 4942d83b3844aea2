"""Fixtures shared by every test folder: real servers, always stopped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from mlops_platform.contract import PlatformOutputs
from tests.support.built import built_environment
from tests.support.images import build_platform_images
from tests.support.servers import S3Endpoint, running_local_platform, running_moto_s3

REPO_ROOT = Path(__file__).resolve().parent.parent
# Fixtures that start servers, bake projects or build images: a test that uses one is slow
# (`make test-fast` leaves it out; `make test` runs everything).
SLOW_FIXTURES = {"shared_platform", "shared_platform_outputs_file", "baked_projects", "recovery",
                 "platform_images"}
MLFLOW_CLIENT_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@pytest.fixture(autouse=True)
def clean_mlflow_client_state() -> Iterator[None]:
    """Give every test MLflow's client state as it found it.

    The fluent API keeps the tracking and registry URIs in globals and copies them
    into the environment for subprocesses; left behind, they point later tests (and
    the `make` commands those start) at servers that are gone.
    """
    before = {name: os.environ.get(name) for name in MLFLOW_CLIENT_VARIABLES}
    yield
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_platform_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-platform")


@pytest.fixture(scope="session")
def shared_platform(shared_platform_dir: Path) -> Iterator[PlatformOutputs]:
    """One local platform for the whole session; tests that need a pristine one start their own."""
    with running_local_platform(shared_platform_dir / "state") as outputs:
        yield outputs


@pytest.fixture(scope="module")
def tracking(shared_platform: PlatformOutputs) -> Iterator[str]:
    """MLflow's client (and the servers a test starts) pointed at the shared platform."""
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = shared_platform.tracking_uri
    mlflow.set_tracking_uri(shared_platform.tracking_uri)
    yield shared_platform.tracking_uri
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous


@pytest.fixture
def moto_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Endpoint]:
    """moto's S3 for one test, with MLFLOW_S3_ENDPOINT_URL and the AWS_* credentials set."""
    with running_moto_s3(tmp_path) as endpoint:
        monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", endpoint.url)
        for key, value in endpoint.environment().items():
            monkeypatch.setenv(key, value)
        yield endpoint


@pytest.fixture(scope="session")
def mlserver_installed() -> Path:
    """MLServer's own environment (`make test` builds .venv-mlserver before pytest)."""
    return built_environment("mlserver") / "mlserver"


@pytest.fixture(scope="session")
def shared_platform_outputs_file(
    shared_platform: PlatformOutputs, shared_platform_dir: Path
) -> Path:
    return shared_platform_dir / "state" / "outputs.json"


@pytest.fixture(scope="session")
def platform_images() -> str:
    """The platform's own images and the stand-ins, built by `make images`; their tag."""
    return build_platform_images()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
