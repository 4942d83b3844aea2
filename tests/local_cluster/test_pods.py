"""`make pods` translates each rendered pod spec into podman arguments, exactly as it says."""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlops_platform.local_cluster import pods


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
    assert entrypoint.startswith('["python", "-m", "mlops_platform.monitoring.tracking_server"')
    assert '"--", "mlflow", "server"' in entrypoint


def test_each_container_port_is_published_on_loopback_only(cluster: pods.Cluster) -> None:
    published = option_values(arguments_of(cluster, "mlflow"), "-p")
    assert len(published) == 2
    assert all(value.startswith("127.0.0.1:") for value in published)
    assert [value.rsplit(":", 1)[-1] for value in published] == ["5000", "9103"]
    assert cluster.url("mlflow", 5000).startswith("http://127.0.0.1:")


def test_third_party_images_run_as_named_stand_ins(manifests: list[dict[str, Any]]) -> None:
    mapping = pods.local_images(manifests, "0.1.0")
    database = next(image for image in mapping if pods.image_repository(image) == "postgres")
    assert mapping[database] == "localhost/mlops-platform/standin-postgres:0.1.0"
    pushgateway = next(image for image in mapping
                       if pods.image_repository(image) == "prom/pushgateway")
    assert mapping[pushgateway] == "localhost/mlops-platform/standin-prometheus:0.1.0"


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
    # The pod's IP serves the sidecar's metrics port too: the first container publishes it.
    published = [value.rsplit(":", 1)[-1] for value in option_values(server_arguments, "-p")]
    assert published == ["8080", "8081", "8082", "9102"]
    assert cluster.url("model-a", 9102).startswith("http://127.0.0.1:")
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


SERVICE_DNS_READY = pods.NetworkSetup("netavark", "", Path("/usr/lib/podman/aardvark-dns"),
                                      "/repo/infra/images/containers.conf")


def test_netavark_with_aardvark_dns_resolves_service_names() -> None:
    assert pods.service_dns_problem(SERVICE_DNS_READY) is None
    pods.check_service_dns(SERVICE_DNS_READY)


@pytest.mark.parametrize(("setup", "cause"), [
    (replace(SERVICE_DNS_READY, backend="cni"), "podman's network backend is cni, not netavark"),
    (replace(SERVICE_DNS_READY, dns_helper=None),
     "aardvark-dns is not installed (podman's netavark needs it for DNS)"),
    (replace(SERVICE_DNS_READY, backend="", podman_error='could not find "netavark"'),
     'podman cannot report its network backend (could not find "netavark")'),
], ids=["cni", "no-aardvark-dns", "podman-fails"])
def test_without_service_dns_make_pods_says_what_to_install_and_set(
        setup: pods.NetworkSetup, cause: str) -> None:
    with pytest.raises(pods.PodsError) as raised:
        pods.check_service_dns(setup)
    message = str(raised.value)
    assert message.startswith(f"Service names cannot resolve between containers: {cause}.")
    assert "Install the netavark and aardvark-dns packages" in message
    assert ('set network_backend = "netavark" under [network] in the containers.conf '
            "CONTAINERS_CONF points at (/repo/infra/images/containers.conf)") in message
    assert "\n" not in message


def test_without_containers_conf_the_message_says_to_point_at_one() -> None:
    message = pods.service_dns_problem(replace(SERVICE_DNS_READY, backend="cni",
                                               containers_conf=""))
    assert message is not None
    assert "point CONTAINERS_CONF at it" in message
    assert "infra/images/containers.conf" in message


def test_aardvark_dns_is_looked_up_where_containers_conf_says(tmp_path: Path) -> None:
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    conf = tmp_path / "containers.conf"
    conf.write_text(f'[engine]\nhelper_binaries_dir = ["{helpers}"]\n')
    folders = pods.helper_binary_dirs(conf)
    assert folders == [helpers]
    assert pods.find_helper("aardvark-dns", folders) is None

    (helpers / "aardvark-dns").write_text("#!/bin/sh\n")
    assert pods.find_helper("aardvark-dns", folders) is None, "not executable: not usable"
    (helpers / "aardvark-dns").chmod(0o755)
    assert pods.find_helper("aardvark-dns", folders) == helpers / "aardvark-dns"


def test_without_a_helper_folder_setting_podmans_defaults_are_searched(tmp_path: Path) -> None:
    conf = tmp_path / "containers.conf"
    conf.write_text('[network]\nnetwork_backend = "netavark"\n')
    assert pods.helper_binary_dirs(conf) == [Path(folder) for folder in pods.HELPER_BINARY_DIRS]
    assert pods.helper_binary_dirs(None) == pods.helper_binary_dirs(conf)


def test_the_repositorys_containers_conf_pins_the_dns_backend(repo_root: Path) -> None:
    conf = tomllib.loads((repo_root / "infra" / "images" / "containers.conf").read_text())
    assert conf["network"]["network_backend"] == pods.DNS_BACKEND


@pytest.mark.slow  # asks this machine's podman, as every test that needs podman
def test_this_machines_podman_resolves_service_names(repo_root: Path) -> None:
    setup = pods.network_setup({**os.environ, "CONTAINERS_CONF": str(
        repo_root / "infra" / "images" / "containers.conf")})
    assert (setup.backend, setup.podman_error) == ("netavark", "")
    assert setup.dns_helper is not None
    assert pods.service_dns_problem(setup) is None


def test_a_job_is_known_to_call_the_services_its_spec_and_env_name(
        cluster: pods.Cluster) -> None:
    called = {service: server.name for service, server in
              pods.called_services(cluster, named(cluster.manifests, "create-bucket"))}
    assert called == {"object-store.mlops-dev.svc.cluster.local": "object-store"}
    tracking = {service: server.name for service, server in
                pods.called_services(cluster, named(cluster.manifests, "mlflow"))}
    assert tracking["postgres.mlops-dev.svc.cluster.local"] == "postgres", \
        "the database URL comes from a Secret"
    assert "mlflow" not in tracking.values()


def test_a_failed_job_shows_the_log_of_the_server_it_calls(cluster: pods.Cluster) -> None:
    store = named(cluster.manifests, "object-store")
    store_container = pods.container_name(cluster, store, store.pod_spec["containers"][0])
    cluster.containers.append(store_container)
    server_log = "\n".join(f"line {number}" for number in range(50))

    context = pods.failure_context(cluster, named(cluster.manifests, "create-bucket"),
                                   read_log={store_container: server_log}.__getitem__)
    assert (f"it calls object-store.mlops-dev.svc.cluster.local; the log of object-store "
            f"(container {store_container}) ends:\nline 30\n") in context
    assert "line 29\n" not in context and context.count("line ") == pods.CALLED_LOG_LINES
    assert "Service DNS is missing (see docs/troubleshooting.md)" in context


def test_no_server_started_yet_means_no_context(cluster: pods.Cluster) -> None:
    assert pods.failure_context(cluster, named(cluster.manifests, "create-bucket"),
                                read_log=lambda name: pytest.fail(name)) == ""


def test_an_unready_server_names_the_probe_it_tried(cluster: pods.Cluster) -> None:
    arguments_of(cluster, "mlflow")  # publishes the port, as `podman run` does
    workload = named(cluster.manifests, "mlflow")
    container = workload.pod_spec["containers"][0]
    assert pods.describe_probe(cluster, workload, container, container["readinessProbe"]) == (
        f"GET {cluster.url('mlflow', 5000)}/health, container port 5000")
