"""Ways of leaving a credential in an annotation, on the object or on its pods."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "no-secrets-in-annotations"
DEPLOYMENT = obj.deployment()
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtbG9wcyJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
EVASIONS = {
    "a password under a password key": {"example.com/db-password": "hunter2"},
    "a token under a camel-case key": {"example.com/apiToken": "f00dcafe"},
    "an AWS access key id under an innocent key": {"example.com/owner": "AKIAIOSFODNN7EXAMPLE"},
    "a JSON web token under an innocent key": {"example.com/notes": JWT},
    "credentials in a URL": {"example.com/upstream": "https://bot:s3cret@git.example.com/x"},
    "a secret pair inside a config blob": {"example.com/config": "user=bot password=s3cret"},
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    caught(RULE, obj.annotated(DEPLOYMENT, EVASIONS[way]))


def test_a_secret_on_the_pod_template_is_caught() -> None:
    caught(RULE, obj.annotated(DEPLOYMENT, {"example.com/api-key": "abc123"}, on_pods=True))


def test_a_secret_on_any_kind_is_caught() -> None:
    caught(RULE, obj.annotated(obj.namespace(), {"example.com/token": "abc123"}))


@pytest.mark.parametrize("annotations", [
    # Names of Secrets and where to find them are not secrets.
    {"nginx.ingress.kubernetes.io/auth-secret": "platform/basic-auth",
     "nginx.ingress.kubernetes.io/auth-secret-type": "auth-file"},
    {"example.com/password-file": "/run/secrets/db", "example.com/token": "$(TOKEN)"},
    {"prometheus.io/scrape": "true", "mlops.platform/approved-by": "alice"},
])
def test_references_and_ordinary_annotations_pass(annotations: dict[str, str]) -> None:
    assert run_rule(RULE, obj.annotated(DEPLOYMENT, annotations), "prod") == []
