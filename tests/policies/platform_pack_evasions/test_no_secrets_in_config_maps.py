"""Ways around no-secrets-in-config-maps: other key spellings, secrets inside config files."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "no-secrets-in-config-maps"
EVASIONS = {
    "key DB_PASS": {"DB_PASS": "hunter2"},
    "camel-case key": {"adminPassword": "hunter2"},
    "password inside an ini file": {"auth.ini": "[db]\nuser = mlflow\npassword = hunter2\n"},
    "password inside a YAML file": {"config.yaml": "db:\n  password: hunter2\n"},
    "token inside JSON": {"settings.json": '{"apiToken": "abc123"}'},
    "URL credentials inside a file": {"app.conf": "database_uri = postgresql://u:p@db/m\n"},
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    caught(RULE, obj.config_map(EVASIONS[way]))


def test_binary_data_under_a_secret_key_is_caught() -> None:
    leaky = obj.resource(obj.k8s.CONFIG_MAP, {"metadata": {"name": "c", "namespace": "s"},
                                              "binaryData": {"tls.key.passphrase": "aHVudGVy"}})
    caught(RULE, leaky)


def test_a_patch_of_a_config_map_is_read_too() -> None:
    caught(RULE, obj.retyped(obj.config_map({"DB_PASS": "x"}), "kubernetes:core/v1:ConfigMapPatch"))


def test_config_without_secrets_passes() -> None:
    config = obj.config_map({"app.ini": "[db]\npassword_file = /run/secrets/pw\nhost = db\n",
                             "MLFLOW_TRACKING_URI": "http://mlflow:5000"})
    assert run_rule(RULE, config, "prod") == []
