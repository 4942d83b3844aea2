"""Ways around served-model-alerted: rule objects that alert on nothing."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "served-model-alerted"


def rules(*entries: dict) -> obj.Resource:
    return obj.operator_object("PrometheusRule", {"groups": [
        {"name": "serving", "rules": list(entries)}]}, name="alerts")


SCRAPED = [obj.model_server_with_metrics_port(), obj.pod_monitor()]
EVASIONS = {
    "no PrometheusRule": [],
    "recording rules only": [obj.prometheus_rule(alert=False)],
    "an alert without an expression": [rules({"alert": "Empty", "expr": ""})],
    "an empty group": [obj.operator_object("PrometheusRule", {"groups": [
        {"name": "serving", "rules": []}]}, name="alerts")],
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("no PrometheusRule" in m for m in caught(RULE, [*SCRAPED, *EVASIONS[way]],
                                                        "prod"))


def test_a_model_scraped_by_annotations_needs_no_rule_object() -> None:
    assert run_rule(RULE, [obj.scraped_model_server()], "prod") == []
