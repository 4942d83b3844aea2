"""Ways around served-model-approved: model servers the rule did not recognise as such."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "served-model-approved"
EVASIONS = {
    "an approval of blanks": obj.model_server(approved_by="   "),
    "a model server through mlflow models serve": obj.deployment(obj.container(
        command=["sh", "-c", "exec mlflow models serve -m models:/m@champion"])),
    "the variable in lower case": obj.deployment(obj.container(env=[
        {"name": "mlserver_model_uri", "value": "models:/m@champion"}])),
    "the URI from a ConfigMap": obj.deployment(obj.container(env=[
        {"name": "MLSERVER_MODEL_URI", "valueFrom": {"configMapKeyRef": {"name": "m",
                                                                         "key": "uri"}}}])),
    "a bare Pod": obj.bare_pod(obj.container(env=[
        {"name": "MLSERVER_MODEL_URI", "value": "models:/m@champion"}])),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("nobody approved" in m for m in caught(RULE, EVASIONS[way], "prod"))


def test_an_approved_model_passes() -> None:
    assert run_rule(RULE, obj.model_server(approved_by="alice"), "prod") == []
