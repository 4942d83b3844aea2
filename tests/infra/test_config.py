"""The stack config: committed stacks parse, bad values stop the program naming the key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.config import (
    SECRET_KEYS,
    STACKS,
    ConfigError,
    PlatformConfig,
    markdown_table,
    parse_config,
)
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import run_stack, stack_settings
from tests.infra.k8s_objects import of_kind
from tests.infra.stacks import pinned_images

DIGEST = "@sha256:" + "a" * 64

INVALID = [
    pytest.param("environment", "qa", "dev", id="unknown-environment"),
    pytest.param("tracking_replicas", 0, "greater than or equal to 1", id="zero-replicas"),
    pytest.param("tracking_image", "mlflow/mlflow:latest", "latest", id="latest-tag"),
    pytest.param("tracking_image", "mlflow/mlflow", "no version tag", id="untagged-image"),
    pytest.param("database_image", "postgres:16.4@sha256:" + "0" * 64, "placeholder digest",
                 id="placeholder-digest"),
    pytest.param("ingress_max_body_size", "5 GB", "should match pattern", id="bad-body-size"),
    pytest.param("database_mode", "managed", "in_cluster", id="unknown-database-mode"),
    pytest.param("feature_store", "redis", "'none' or 'postgres'", id="unknown-feature-store"),
    pytest.param("database_backup_schedule", "every night", "cron", id="bad-cron"),
    pytest.param("tracking_resources", {"requests": {"cpu": "2", "memory": "1Gi"},
                                        "limits": {"cpu": "1", "memory": "1Gi"}},
                 "below requests.cpu", id="limits-below-requests"),
    pytest.param("tracking_resources", {"requests": {"cpu": "lots", "memory": "1Gi"},
                                        "limits": {"cpu": "1", "memory": "1Gi"}},
                 "CPU quantity", id="bad-cpu-quantity"),
    pytest.param("platform_namespace", "MLOps_Dev", "DNS-1123", id="bad-namespace"),
    pytest.param("tracking_host", "not a host", "DNS name", id="bad-host"),
    pytest.param("served_models", [{"name": "m", "version": 3, "alias": "champion"}],
                 "exactly one of version", id="version-and-alias"),
    pytest.param("served_models", [{"name": "m"}], "exactly one of version",
                 id="neither-version-nor-alias"),
    pytest.param("tracking_max_replicas", 1, "below tracking_replicas", id="ceiling-below-floor"),
    pytest.param("image_registry", "https://mirror.example.com/", "no scheme",
                 id="registry-with-scheme"),
    pytest.param("tracking_replica", 2, "did you mean tracking_replicas?", id="misspelt-key"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), INVALID)
def test_a_bad_value_stops_the_program_naming_key_value_and_what_is_allowed(
        key: str, value: object, allowed: str) -> None:
    overrides = {key: value}
    if key == "tracking_max_replicas":
        overrides["tracking_replicas"] = 3
    with pytest.raises(ConfigError) as raised:
        run_stack("dev", overrides)
    message = str(raised.value)
    assert f"mlops-platform:{key}" in message
    assert allowed in message
    assert raised.value.key == key


def test_prod_refuses_an_image_without_digest() -> None:
    pinned = pinned_images("prod")
    with pytest.raises(ConfigError, match=r"mlops-platform:serving_image .*not pinned by digest"):
        run_stack("prod", {**pinned, "serving_image": "mlops-platform/serving:0.1.0"})


def test_the_committed_prod_stack_stops_on_the_digests_it_leaves_to_fill_in() -> None:
    with pytest.raises(ConfigError) as raised:
        run_stack("prod")
    assert raised.value.key == "tracking_image"
    assert str(raised.value) == (
        'stack config mlops-platform:tracking_image = "mlops-platform/mlflow-server:0.1.0" is '
        "not pinned by digest while require_image_digests is true (nor are database_image, "
        "object_store_image, serving_image, tools_image, pushgateway_image); append the digest "
        "your registry serves, from `crane digest <registry>/<image>:<tag>` or the image "
        "release workflow's pull request")


@pytest.mark.parametrize("stack", STACKS)
def test_no_stack_serves_a_model_until_a_project_declares_one(stack: str) -> None:
    assert "served_models" not in stack_settings(stack)
    manifests = to_manifests(run_stack(stack, pinned_images(stack)).resources)
    assert [d["metadata"]["name"] for d in of_kind(manifests, "Deployment")] == [
        "pushgateway", "mlflow"]
    assert not [c for c in of_kind(manifests, "CronJob")
                if c["metadata"]["labels"]["app.kubernetes.io/name"] == "drift-monitor"]


def test_an_external_database_needs_its_url_as_a_secret() -> None:
    with pytest.raises(ConfigError, match=r"mlops-platform:database_url .*required"):
        run_stack("dev", {"database_mode": "external"})
    url = "postgresql://mlflow:hunter2@db.example.com:5432/mlflow"
    with pytest.raises(ConfigError, match=r"database_url .*plain text") as raised:
        run_stack("dev", {"database_mode": "external", "database_url": url}, secret_keys=())
    assert "hunter2" not in str(raised.value)


def test_an_external_bucket_needs_both_keys() -> None:
    with pytest.raises(ConfigError, match=r"s3_access_key_id .*required"):
        run_stack("dev", {"artifact_store_mode": "external", "s3_access_key_id": "AKIA"})


@pytest.mark.parametrize("stack", STACKS)
def test_each_committed_stack_is_valid_and_names_its_environment(stack: str) -> None:
    settings = {**stack_settings(stack), **pinned_images(stack)}
    config = parse_config({key: value if isinstance(value, str) else json.dumps(value)
                           for key, value in settings.items()}, secret_keys=set())
    assert config.environment == stack


def test_the_stacks_differ_where_they_should() -> None:
    configs = {stack: PlatformConfig.model_validate({**stack_settings(stack),
                                                     **pinned_images(stack)})
               for stack in STACKS}
    dev, staging, prod = configs["dev"], configs["staging"], configs["prod"]
    assert dev.tracking_replicas == 1 < staging.tracking_replicas < prod.tracking_replicas
    assert not dev.tls and staging.tls and prod.tls
    assert prod.require_image_digests and not dev.require_image_digests
    assert prod.policy_enforcement == "mandatory" and dev.policy_enforcement == "advisory"
    assert _gib(dev.database_storage) < _gib(staging.database_storage) < _gib(prod.database_storage)


def test_secret_settings_are_the_credentials() -> None:
    assert set(SECRET_KEYS) == {"database_url", "s3_access_key_id", "s3_secret_access_key"}


def test_the_docs_table_is_the_one_generated_from_the_config_class(repo_root: Path) -> None:
    page = (repo_root / "docs" / "reference" / "configuration.md").read_text()
    assert markdown_table() in page, (
        "docs/reference/configuration.md differs from infra/config.py; regenerate it with "
        "`.venv/bin/python docs/scripts/generate.py`")
    assert set(re.findall(r"^\| `([a-z0-9_]+)` \|", page, flags=re.MULTILINE)) == \
        set(PlatformConfig.model_fields)


def _gib(quantity: str) -> int:
    return int(quantity.removesuffix("Gi"))


def test_the_program_reads_config_the_way_the_pulumi_cli_passes_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pulumi.runtime.config import set_all_config

    from infra.program import read_stack_config

    set_all_config({}, [])
    url = "postgresql://mlflow:pw@db.example.com:5432/mlflow"
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({
        "mlops-platform:environment": "staging", "mlops-platform:tracking_replicas": "2",
        "mlops-platform:database_mode": "external", "mlops-platform:database_url": url,
        "mlops-platform:namespace_quota": json.dumps({"pods": 12}),
        "kubernetes:context": "kind-mlops"}))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["mlops-platform:database_url"]))
    config = read_stack_config()
    assert (config.environment, config.tracking_replicas) == ("staging", 2)
    assert config.namespace_quota.pods == 12
    assert config.database_url is not None and config.database_url.get_secret_value() == url
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", "[]")
    with pytest.raises(ConfigError, match="plain text"):
        read_stack_config()
