"""Ways of storing a credential in a pod spec through an HTTP probe or lifecycle hook."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "no-secrets-in-probe-headers"


def header(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


EVASIONS = {
    "an Authorization header": obj.probed_with_headers(header("Authorization",
                                                              "Bearer s3cr3t-t0ken")),
    "the header name in lower case": obj.probed_with_headers(header("authorization",
                                                                    "Basic Ym90OnMzY3JldA==")),
    "an API key header": obj.probed_with_headers(header("X-Api-Key", "f00dcafe")),
    "a token in the probe's query": obj.probed_with_headers(path="/health?token=f00dcafe"),
    "a cookie": obj.probed_with_headers(header("Cookie", "session=f00dcafe")),
    "a startup probe": obj.with_container(obj.deployment(), startupProbe={"httpGet": {
        "path": "/", "port": "http", "httpHeaders": [header("Authorization", "Bearer abc")]}}),
    "a preStop hook": obj.with_container(obj.deployment(), lifecycle={"preStop": {"httpGet": {
        "path": "/drain", "port": "http", "httpHeaders": [header("X-Auth-Token", "abc")]}}}),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    caught(RULE, EVASIONS[way])


def test_ordinary_headers_pass() -> None:
    probed = obj.probed_with_headers(header("Accept", "application/json"),
                                     header("X-Request-Source", "kubelet"))
    assert run_rule(RULE, probed, "prod") == []
