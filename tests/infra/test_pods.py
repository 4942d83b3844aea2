"""`make pods` translates each rendered pod spec into podman arguments, exactly as it says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra import pods


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return pods.render("dev")


@pytest.fixture
def cluster(manifests: list[dict[str, Any]], tmp_path: Path) -> pods.Cluster:
    return pods.Cluster("unit", manifests, tmp_path, pods.local_images(manifests, "0.1.0"))


def named(manifests: list[dict[str, Any]], name: str) -> pods.Workload:
    return next(workload for workload in pods.workloads(manifests) if workload.name == name)


def arguments_of(cluster: pods.Cluster, name: str) -> list[str]:
    workload = named(cluster.manifests, name)
    return pods.run_arguments(cluster, workload, workload.pod_spec["containers"][0], detach=True)


def option_values(arguments: list[str], option: str) -> list[str]:
    return [arguments[index + 1] for index, value in enumerate(arguments) if value == option]


def test_workloads_start_in_dependency_order(manifests: list[dict[str, Any]]) -> None:
    kinds = [workload.kind for workload in pods.workloads(manifests)]
    assert kinds == sorted(kinds, key=pods.WORKLOAD_ORDER.index)
    assert "CronJob" not in kinds
    assert set(pods.cron_jobs(manifests)) >= {"postgres-backup"}


def test_the_tracking_server_runs_hardened_as_its_pod_spec_says(cluster: pods.Cluster) -> None:
    arguments = arguments_of(cluster, "mlflow")
    assert option_values(arguments, "--user") == ["10001:10001"]
    assert "--read-only" in arguments
    assert option_values(arguments, "--cap-drop") == ["ALL"]
    assert option_values(arguments, "--security-opt") == ["no-new-privileges"]
    assert "/tmp:rw,mode=1777" in option_values(arguments, "--tmpfs")
    assert any(value.endswith(":/etc/mlflow:ro") for value in option_values(arguments, "-v"))


def test_service_names_resolve_to_the_pods_they_select(cluster: pods.Cluster) -> None:
    aliases = option_values(arguments_of(cluster, "mlflow"), "--network-alias")
    assert "mlflow.mlops-dev.svc.cluster.local" in aliases
    assert "postgres.mlops-dev.svc.cluster.local" not in aliases


def test_env_from_secrets_is_resolved_into_a_private_file(cluster: pods.Cluster) -> None:
    arguments = arguments_of(cluster, "mlflow")
    env_file = Path(option_values(arguments, "--env-file")[0])
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    database_url = cluster.secret("mlops-dev", "mlflow-database")["url"]
    assert values["MLFLOW_BACKEND_STORE_URI"] == database_url
    assert env_file.stat().st_mode & 0o077 == 0
    assert not any(database_url in argument for argument in arguments)


def test_the_command_replaces_the_image_entrypoint(cluster: pods.Cluster) -> None:
    arguments = arguments_of(cluster, "mlflow")
    entrypoint = option_values(arguments, "--entrypoint")[0]
    assert entrypoint.startswith('["mlflow", "server"')


def test_each_container_port_is_published_on_loopback_only(cluster: pods.Cluster) -> None:
    published = option_values(arguments_of(cluster, "mlflow"), "-p")
    assert len(published) == 1
    assert published[0].startswith("127.0.0.1:")
    assert published[0].endswith(":5000")
    assert cluster.url("mlflow", 5000).startswith("http://127.0.0.1:")


def test_third_party_images_run_as_named_stand_ins(manifests: list[dict[str, Any]]) -> None:
    mapping = pods.local_images(manifests, "0.1.0")
    database = next(image for image in mapping if pods.image_repository(image) == "postgres")
    assert mapping[database] == "localhost/mlops-platform/standin-postgres:0.1.0"


@pytest.mark.parametrize(("image", "repository"), [
    ("postgres:16.4-alpine", "postgres"),
    ("registry.example.com/mirror/postgres:16.4@sha256:" + "a" * 64, "mirror/postgres"),
    ("localhost/mlops-platform/tools:0.1.0", "mlops-platform/tools"),
    ("mlops-platform/tools:0.1.0", "mlops-platform/tools"),
])
def test_image_repository_drops_registry_tag_and_digest(image: str, repository: str) -> None:
    assert pods.image_repository(image) == repository


def test_an_unsupported_field_reference_is_named(manifests: list[dict[str, Any]]) -> None:
    workload = named(manifests, "mlflow")
    with pytest.raises(pods.PodsError, match=r"fieldRef spec\.nodeName"):
        pods._field(workload, "spec.nodeName")


@pytest.fixture(scope="module")
def served_manifests() -> list[dict[str, Any]]:
    return pods.render("dev", {"served_models": [{"name": "model_a", "alias": "champion"}]})


def test_a_sidecar_shares_the_first_containers_network_and_the_log_volume(
        served_manifests: list[dict[str, Any]], tmp_path: Path) -> None:
    cluster = pods.Cluster("unit", served_manifests, tmp_path,
                           pods.local_images(served_manifests, "0.1.0"))
    serving = named(served_manifests, "model-a")
    server, shipper = serving.pod_spec["containers"]
    server_arguments = pods.run_arguments(cluster, serving, server, detach=True)
    shipper_arguments = pods.run_arguments(cluster, serving, shipper, detach=True)

    assert option_values(server_arguments, "--network") == [cluster.network]
    assert option_values(shipper_arguments, "--network") == [
        f"container:{pods.container_name(cluster, serving, server)}"]
    assert not option_values(shipper_arguments, "--network-alias")
    assert not option_values(shipper_arguments, "-p")
    log_volume = f"{cluster.network}-model-a-predictions:/var/log/predictions:U"
    assert log_volume in option_values(server_arguments, "-v")
    assert log_volume in option_values(shipper_arguments, "-v")
    assert f"{cluster.network}-model-a-predictions" in cluster.volumes


def test_an_emptydir_of_one_container_stays_a_private_tmpfs(cluster: pods.Cluster) -> None:
    arguments = arguments_of(cluster, "mlflow")
    assert not any(value.startswith(cluster.network) for value in option_values(arguments, "-v"))
    assert not cluster.volumes


def test_the_backup_jobs_dump_reaches_its_upload_step_through_one_volume(
        cluster: pods.Cluster) -> None:
    job = pods.cron_jobs(cluster.manifests)["postgres-backup"]
    (dump,), (upload,) = job.pod_spec["initContainers"], job.pod_spec["containers"]
    shared = f"{cluster.network}-postgres-backup-backup:/backup"
    assert f"{shared}:U" in option_values(
        pods.run_arguments(cluster, job, dump, detach=False), "-v")
    assert f"{shared}:ro" in option_values(
        pods.run_arguments(cluster, job, upload, detach=False), "-v")
