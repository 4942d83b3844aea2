"""Ways around minimum-replicas: an autoscaler that scales below it, servers hidden from it."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "minimum-replicas"
EVASIONS = {
    "an autoscaler with minReplicas 1": [obj.tracking_server(replicas=3.0),
                                         obj.autoscaler("mlflow", "platform", 1.0)],
    "an autoscaler without minReplicas (defaults to 1)": [
        obj.model_server(), obj.autoscaler("model", "serving", None)],
    "replicas left out": [obj.deployment(obj.container(name="mlflow", command=[
        "mlflow", "server", "--app-name", "basic-auth"]), replicas=None, name="mlflow")],
    "the tracking server started through sh -c": [obj.deployment(obj.container(
        name="mlflow", command=["sh", "-c", "exec mlflow server --app-name basic-auth"]),
        name="mlflow", replicas=1.0)],
    "a model server as a bare Pod": [obj.bare_pod(obj.container(env=[
        {"name": "MLSERVER_MODEL_URI", "value": "models:/m@champion"}]))],
    "a model server through mlflow models serve": [obj.deployment(obj.container(command=[
        "mlflow", "models", "serve", "-m", "models:/m@champion"]), replicas=1.0)],
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("replica(s); prod needs at least 2" in m
               for m in caught(RULE, EVASIONS[way], "prod"))


def test_an_autoscaler_of_another_workload_is_not_counted() -> None:
    assert run_rule(RULE, [obj.tracking_server(replicas=3.0),
                           obj.autoscaler("other", "platform", 1.0)], "prod") == []
