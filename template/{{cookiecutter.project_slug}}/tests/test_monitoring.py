"""Monitoring: `make drift` exits 1 (CI retrains) when the champion is older than declared,
and `CURRENT=store` reads what the platform's log shippers put in its artifact store."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlops_platform.api import PlatformOutputs

from {{ cookiecutter.package_name }} import monitor
from {{ cookiecutter.package_name }}.monitor import (
    DAY_MS,
    SERVED_LOG,
    STORE,
    UNUSABLE,
    served_inputs,
    staleness_problem,
)
from {{ cookiecutter.package_name }}.params import Params

NOW_MS = 1_800_000_000_000


def test_a_champion_younger_than_the_declared_age_is_fresh(params: Params) -> None:
    max_age = params.monitoring.max_model_age_days
    assert staleness_problem(NOW_MS - int(max_age * DAY_MS) + 1, NOW_MS, max_age) is None


def test_an_older_champion_is_stale_naming_the_key(params: Params) -> None:
    max_age = params.monitoring.max_model_age_days
    problem = staleness_problem(NOW_MS - int((max_age + 1) * DAY_MS), NOW_MS, max_age)
    assert problem == (f"the champion is {max_age + 1:.1f} days old, more than "
                       f"monitoring.max_model_age_days = {max_age:g}: retrain it")


def test_the_store_is_where_this_models_served_inputs_are_shipped(
        params: Params, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = tmp_path / "platform_outputs.json"
    PlatformOutputs(tracking_uri="http://mlflow:5000", registry_uri="http://mlflow:5000",
                    artifact_store_uri="s3://team-platform", environment="prod",
                    namespace="ml").write(outputs)
    monkeypatch.setenv("PLATFORM_OUTPUTS", str(outputs))
    assert served_inputs(STORE) == f"s3://team-platform/monitoring/{params.model.name}/served/"
    assert served_inputs(SERVED_LOG) == "monitoring/predictions.jsonl"


def test_an_unexpected_error_is_no_verdict_not_drift(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(current: str) -> int:
        raise RuntimeError("the store answered garbage")

    monkeypatch.setattr(monitor, "monitor", broken)
    assert monitor.main([]) == UNUSABLE  # Python's own exit would be 1: retrain
    assert "error: monitor stopped: the store answered garbage" in capsys.readouterr().err
