"""Ways around ingress-tls: TLS listed, yet plain HTTP or a fake certificate still served."""

from __future__ import annotations

import copy

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "ingress-tls"


def ingress(**changes: object) -> obj.Resource:
    item = obj.ingress(tls_hosts=["mlflow.example.com"])
    props = copy.deepcopy(item.props)
    for key, value in changes.items():
        if key == "annotations":
            props["metadata"]["annotations"] = value
        else:
            props["spec"][key] = value
    return obj.Resource(item.type_, item.name, item.urn, props)


EVASIONS = {
    "a rule without a host": (ingress(rules=[{"host": "mlflow.example.com"}, {"http": {}}]),
                              "any host"),
    "a default backend": (ingress(defaultBackend={"service": {"name": "mlflow"}}), "any host"),
    "TLS without a certificate secret": (ingress(tls=[{"hosts": ["mlflow.example.com"]}]),
                                         "fake default certificate"),
    "HTTPS redirect switched off": (ingress(annotations={
        "nginx.ingress.kubernetes.io/ssl-redirect": "false"}), "plain HTTP beside TLS"),
    "a wildcard that covers another domain": (ingress(tls=[{"hosts": ["*.example.org"],
                                                            "secretName": "x"}]),
                                              "without TLS"),
    "plain HTTP through the beta API": (obj.retyped(obj.ingress(tls_hosts=None),
                                                    "kubernetes:networking.k8s.io/v1beta1:Ingress"),
                                        "plain HTTP"),
    "plain HTTP through extensions": (obj.retyped(obj.ingress(tls_hosts=None),
                                                  "kubernetes:extensions/v1beta1:Ingress"),
                                      "plain HTTP"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    resource, says = EVASIONS[way]
    assert any(says in message for message in caught(RULE, resource, "staging"))


def test_a_wildcard_certificate_covers_one_label() -> None:
    wildcard = ingress(tls=[{"hosts": ["*.example.com"], "secretName": "wildcard-tls"}])
    assert run_rule(RULE, wildcard, "prod") == []
