"""Ways around images-pinned: tags that move without saying latest, digests in name only."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "images-pinned"
DEPLOYMENT = obj.deployment()


def image(reference: str) -> obj.Resource:
    return obj.with_container(DEPLOYMENT, image=reference)


EVASIONS = {
    "LATEST in capitals": ("dev", image("seldonio/mlserver:LATEST"), "tagged latest"),
    "latest inside a tag": ("dev", image("seldonio/mlserver:latest-mlflow"), "names no version"),
    "a moving tag with no version": ("dev", image("seldonio/mlserver:stable"),
                                     "names no version"),
    "no tag behind a registry port": ("dev", image("registry.example:5000/team/mlserver"),
                                      "without a tag"),
    "truncated digest": ("prod", image("seldonio/mlserver:1.6.1@sha256:abc123"),
                         "not pinned by digest"),
    "digest of the wrong length": ("prod", image("seldonio/mlserver:1.6.1@sha256:" + "a" * 63),
                                   "not pinned by digest"),
    "unpinned init container": ("prod", obj.with_pod(DEPLOYMENT, initContainers=[
        obj.container(name="init", image="busybox")]), "Container 'init'"),
    "unpinned ephemeral container": ("dev", obj.with_pod(DEPLOYMENT, ephemeralContainers=[
        obj.container(name="debug", image="busybox:latest")]), "Container 'debug'"),
    "latest through a CronJob of an old API": ("dev", obj.resource(
        "kubernetes:batch/v1beta1:CronJob", {"metadata": {"name": "job"}, "spec": {
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [
                obj.container(image="busybox:latest")]}}}}}}), "tagged latest"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    environment, resource, says = EVASIONS[way]
    assert any(says in message for message in caught(RULE, resource, environment))


@pytest.mark.parametrize("reference", ["minio/minio:RELEASE.2024-10-13T13-34-11Z",
                                       "mlflow/mlflow:v3.17.2-full", "postgres:16.4-alpine",
                                       "registry.example:5000/team/tools:0.1.0"])
def test_version_tags_still_pass(reference: str) -> None:
    assert run_rule(RULE, image(reference), "dev") == []
