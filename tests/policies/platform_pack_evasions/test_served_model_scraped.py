"""Ways around served-model-scraped: marks and monitors that point at nothing the pod serves."""

from __future__ import annotations

import copy

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "served-model-scraped"


def monitor_watching(namespaces: list[str]) -> obj.Resource:
    monitor = obj.pod_monitor()
    props = copy.deepcopy(monitor.props)
    props["spec"]["namespaceSelector"] = {"matchNames": namespaces}
    return obj.Resource(monitor.type_, monitor.name, monitor.urn, props)


def service_selecting(labels: dict[str, str]) -> obj.Resource:
    service = obj.metrics_service()
    props = copy.deepcopy(service.props)
    props["spec"]["selector"] = labels
    return obj.Resource(service.type_, service.name, service.urn, props)


EVASIONS = {
    "annotated port the pod does not declare": [obj.scraped_model_server(port="9090")],
    "scrape annotation off": [obj.scraped_model_server(scrape="false")],
    "annotated port by name, not number": [obj.scraped_model_server(port="metrics")],
    "PodMonitor on an undeclared port": [obj.model_server_with_metrics_port(),
                                         obj.pod_monitor(port="prometheus")],
    "PodMonitor selecting other pods": [obj.model_server_with_metrics_port(),
                                        obj.pod_monitor(labels={"app": "else"})],
    "PodMonitor watching another namespace": [obj.model_server_with_metrics_port(),
                                              monitor_watching(["elsewhere"])],
    "ServiceMonitor without a Service": [obj.model_server_with_metrics_port(),
                                         obj.service_monitor()],
    "ServiceMonitor on a Service of other pods": [
        obj.model_server_with_metrics_port(), service_selecting({"app": "else"}),
        obj.service_monitor()],
    "ServiceMonitor on another Service port": [obj.model_server_with_metrics_port(),
                                               obj.metrics_service(),
                                               obj.service_monitor(port="http")],
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("nobody scrapes" in m for m in caught(RULE, EVASIONS[way], "prod"))


@pytest.mark.parametrize("resources", [
    [obj.model_server_with_metrics_port(), monitor_watching(["other", "serving"])],
    [obj.model_server_with_metrics_port(), obj.metrics_service(target_port=8082.0),
     obj.service_monitor()],
], ids=["a monitor of several namespaces", "a Service port by number"])
def test_what_does_scrape_counts(resources: list[obj.Resource]) -> None:
    assert run_rule(RULE, resources, "prod") == []
