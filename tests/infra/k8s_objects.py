"""Queries over rendered Kubernetes manifests, shared by the infra tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")


def of_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def named(manifests: list[dict[str, Any]], kind: str, name: str,
          namespace: str | None = None) -> dict[str, Any]:
    found = [m for m in of_kind(manifests, kind) if m["metadata"]["name"] == name
             and (namespace is None or m["metadata"].get("namespace") == namespace)]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_template(workload: dict[str, Any]) -> dict[str, Any]:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]
    return workload["spec"]["template"]


def containers(workload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_template(workload)["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def container_named(workload: dict[str, Any], name: str) -> dict[str, Any]:
    return next(container for container in containers(workload) if container["name"] == name)


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """Env by name: the plain value, or the valueFrom reference."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def secret_ref(secret: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": secret, "key": key}}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())
