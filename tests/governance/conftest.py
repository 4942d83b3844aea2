"""What the governance tests share: the client environment the CLI sets, and for the gate's
tests a fresh registered-model name and a client of the shared platform."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from mlops_platform.client.tracking import CLIENT_ENVIRONMENT
from mlops_platform.contract import PlatformOutputs
from tests.governance.model_versions import fresh_model_name


@pytest.fixture(autouse=True)
def client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the CLI sets, restored after each test."""
    for name, value in CLIENT_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def model_name() -> str:
    return fresh_model_name()


@pytest.fixture
def client(shared_platform: PlatformOutputs) -> MlflowClient:
    return MlflowClient(shared_platform.tracking_uri)
