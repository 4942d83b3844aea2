"""Ways around pod-disruption-budget: a budget that is there but lets every pod go."""

from __future__ import annotations

import copy

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "pod-disruption-budget"


def budget(**spec: object) -> obj.Resource:
    item = obj.pod_disruption_budget()
    props = copy.deepcopy(item.props)
    props["spec"] = {"selector": props["spec"]["selector"], **spec}
    return obj.Resource(item.type_, item.name, item.urn, props)


EVASIONS = {
    "minAvailable 0": budget(minAvailable=0.0),
    "minAvailable 0%": budget(minAvailable="0%"),
    "maxUnavailable 100%": budget(maxUnavailable="100%"),
    "a budget in another namespace": obj.resource(obj.k8s.PDB, {
        "metadata": {"name": "model", "namespace": "elsewhere"},
        "spec": {"minAvailable": 1.0, "selector": {"matchLabels": obj.LABELS}}}, "pdb"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    messages = caught(RULE, [obj.model_server(), EVASIONS[way]], "prod")
    assert any("without a PodDisruptionBudget" in message for message in messages)


def test_the_tracking_server_started_through_a_shell_needs_one_too() -> None:
    shell = obj.deployment(obj.container(name="mlflow", command=[
        "sh", "-c", "mlflow server --app-name basic-auth"]), name="mlflow", namespace="serving")
    caught(RULE, shell, "prod")


def test_a_budget_that_keeps_a_pod_passes() -> None:
    assert run_rule(RULE, [obj.model_server(), budget(maxUnavailable=1.0)], "prod") == []
