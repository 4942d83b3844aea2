"""Ways around served-model-pinned: the model URI set where the rule did not read it."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "served-model-pinned"


def with_env(*variables: dict) -> obj.Resource:
    return obj.deployment(obj.container(env=list(variables)))


EVASIONS = {
    "a second, unpinned URI (Kubernetes keeps the last)": with_env(
        {"name": "MLSERVER_MODEL_URI", "value": "models:/m@champion"},
        {"name": "MLSERVER_MODEL_URI", "value": "runs:/abc/model"}),
    "the variable in lower case": with_env({"name": "mlserver_model_uri",
                                            "value": "s3://bucket/model"}),
    "the URI from a ConfigMap": with_env({"name": "MLSERVER_MODEL_URI", "valueFrom": {
        "configMapKeyRef": {"name": "model", "key": "uri"}}}),
    "mlflow models serve -m": obj.deployment(obj.container(command=[
        "mlflow", "models", "serve", "-m", "runs:/abc/model"])),
    "mlflow models serve inside sh -c": obj.deployment(obj.container(command=[
        "sh", "-c", "mlflow models serve --model-uri=s3://bucket/model --port 8080"])),
    "a bare Pod": obj.bare_pod(obj.container(env=[{"name": "MLSERVER_MODEL_URI",
                                                   "value": "runs:/abc/model"}])),
    "a stage instead of a version": with_env({"name": "MLSERVER_MODEL_URI",
                                              "value": "models:/m/Production"}),
    "a KServe framework predictor": obj.resource(obj.k8s.INFERENCE_SERVICE, {
        "metadata": {"name": "m"}, "spec": {"predictor": {"sklearn": {
            "storageUri": "gs://bucket/model"}}}}),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    caught(RULE, EVASIONS[way], "dev")


def test_a_pinned_uri_in_every_place_passes() -> None:
    served = obj.deployment(obj.container(
        env=[{"name": "MLSERVER_MODEL_URI", "value": "models:/m/3"}],
        command=["sh", "-c", "mlflow models serve -m models:/m@champion"]))
    assert run_rule(RULE, served, "dev") == []
