"""Run a stack's rendered workloads as containers on this machine, as their pod specs say.

`make pods` renders the dev stack with the mocked engine (the same objects `pulumi up`
would send) and starts every StatefulSet, Job and Deployment with podman: image,
command, args, env and env from Secrets, user and group, read-only root filesystem,
dropped capabilities, emptyDir and volume mounts, ports and readiness probes. Service
names resolve between the containers as in a cluster (`<svc>.<ns>.svc.cluster.local`):
every pod joins one podman network under the DNS names of the Services that select it.
The containers of one pod share what a pod shares: the first container's network (the
others, its sidecars, join it, so they reach each other on localhost) and every emptyDir
that more than one of them mounts (a podman volume; an emptyDir of one container is a
tmpfs). CronJobs run on demand (`run_job`).

Why not `podman kube play`: podman 4.3's covers Pods and Deployments only; it has no
Service DNS names, no Secrets from the same file, no Jobs, CronJobs or StatefulSet
volume claims, and what it could run would still need the rest. One translation of the
pod spec serves every kind instead.

What a cluster does that this does not: NetworkPolicies (one flat network), Ingress,
HPA/PDB, scheduling, and resource limits (the sandbox's cgroups refuse them; the peak
memory of each container is measured instead, see `memory_peaks`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_platform.kubernetes.topology import PROMETHEUS
from mlops_platform.local_cluster.pods_prometheus import (
    CLUSTER_DOMAIN,
    scraper_manifests,
    selecting_services,
)
from mlops_platform.processes import free_port

PODMAN = "podman"
WORKLOAD_ORDER = ("StatefulSet", "Job", "Deployment")
_VARIABLE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
READY_TIMEOUT = 180.0
# Where make pods runs its Prometheus, and how often it scrapes and evaluates the rules
# (a cluster's 30 s would make a run wait minutes for the first series).
MONITORING_NAMESPACE = "monitoring"
SCRAPE_INTERVAL = "2s"
JOB_TIMEOUT = 600.0
# Service DNS between containers: netavark creates the networks, its aardvark-dns answers
# the names. Podman looks for the helper in these folders unless containers.conf says others.
DNS_BACKEND = "netavark"
DNS_HELPER = "aardvark-dns"
HELPER_BINARY_DIRS = ("/usr/local/libexec/podman", "/usr/local/lib/podman",
                      "/usr/libexec/podman", "/usr/lib/podman")
TROUBLESHOOTING = "docs/troubleshooting.md"
CALLED_LOG_LINES = 20


class PodsError(RuntimeError):
    """A workload did not start, become ready or complete; the message names it and its log."""


@dataclass(frozen=True)
class Workload:
    """One pod template of a rendered object, and where it lives."""

    kind: str
    name: str
    namespace: str
    labels: Mapping[str, str]
    pod_spec: Mapping[str, Any]


@dataclass
class Cluster:
    """The containers of one run: their network, secrets, published ports and names."""

    run_id: str
    manifests: list[dict[str, Any]]
    work_dir: Path
    image_map: Mapping[str, str] = field(default_factory=dict)
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    host_ports: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def network(self) -> str:
        return f"mlops-pods-{self.run_id}"

    def secret(self, namespace: str, name: str) -> dict[str, str]:
        return rendered_secret(self.manifests, namespace, name)

    def url(self, workload: str, port: int) -> str:
        """The host address of a workload's container port (published on 127.0.0.1)."""
        return f"http://127.0.0.1:{self.host_ports[(workload, port)]}"


def rendered_secret(manifests: list[dict[str, Any]], namespace: str, name: str
                    ) -> dict[str, str]:
    """A rendered Secret's values (the mocked engine renders them in the clear)."""
    for manifest in manifests:
        meta = manifest["metadata"]
        if (manifest["kind"], meta["name"], meta.get("namespace")) == ("Secret", name, namespace):
            return {**manifest.get("data", {}), **manifest.get("stringData", {})}
    raise PodsError(f"Secret {namespace}/{name} is not among the rendered objects")


@dataclass(frozen=True)
class NetworkSetup:
    """What decides whether Service names resolve between containers, read from podman."""

    backend: str  # podman info's network backend ("netavark", "cni"); "" when podman failed
    podman_error: str  # why `podman info` failed, else ""
    dns_helper: Path | None  # the aardvark-dns binary podman would run, if any
    containers_conf: str  # what CONTAINERS_CONF points at ("" when unset)


def network_setup(environ: Mapping[str, str] = os.environ) -> NetworkSetup:
    """Ask this machine's podman: its network backend and where aardvark-dns is."""
    containers_conf = environ.get("CONTAINERS_CONF", "")
    try:
        result = _podman("info", "--format", "{{.Host.NetworkBackend}}", check=False,
                         env=environ)
    except FileNotFoundError:
        return NetworkSetup("", "podman is not installed", None, containers_conf)
    error = ((result.stderr.strip() or f"exit {result.returncode}").splitlines()[-1]
             if result.returncode != 0 else "")
    backend = result.stdout.strip() if result.returncode == 0 else ""
    directories = helper_binary_dirs(Path(containers_conf) if containers_conf else None)
    return NetworkSetup(backend, error, find_helper(DNS_HELPER, directories), containers_conf)


def helper_binary_dirs(containers_conf: Path | None) -> list[Path]:
    """`[engine] helper_binaries_dir` of the containers.conf in use, else podman's default."""
    if containers_conf is not None and containers_conf.is_file():
        engine = tomllib.loads(containers_conf.read_text()).get("engine", {})
        if engine.get("helper_binaries_dir"):
            return [Path(folder) for folder in engine["helper_binaries_dir"]]
    return [Path(folder) for folder in HELPER_BINARY_DIRS]


def find_helper(name: str, directories: list[Path]) -> Path | None:
    return next((folder / name for folder in directories
                 if os.access(folder / name, os.X_OK)), None)


def service_dns_problem(setup: NetworkSetup) -> str | None:
    """Why Service names cannot resolve between containers, with the fix; None when they can."""
    if setup.podman_error:
        cause = f"podman cannot report its network backend ({setup.podman_error})"
    elif setup.backend != DNS_BACKEND:
        cause = f"podman's network backend is {setup.backend or 'unknown'}, not {DNS_BACKEND}"
    elif setup.dns_helper is None:
        cause = f"{DNS_HELPER} is not installed (podman's {DNS_BACKEND} needs it for DNS)"
    else:
        return None
    conf = (f"the containers.conf CONTAINERS_CONF points at ({setup.containers_conf})"
            if setup.containers_conf else
            "a containers.conf, and point CONTAINERS_CONF at it (the Makefile exports "
            "infra/images/containers.conf, which has it)")
    return (f"Service names cannot resolve between containers: {cause}. Install the "
            f"{DNS_BACKEND} and {DNS_HELPER} packages and set network_backend = "
            f"\"{DNS_BACKEND}\" under [network] in {conf}; see {TROUBLESHOOTING}")


def check_service_dns(setup: NetworkSetup | None = None) -> None:
    """Refuse to start any pod when Service names could not resolve between them."""
    problem = service_dns_problem(setup or network_setup())
    if problem is not None:
        raise PodsError(problem)


def workloads(manifests: list[dict[str, Any]]) -> list[Workload]:
    """StatefulSets, Jobs and Deployments (CronJobs run on demand)."""
    found = [_workload(manifest) for manifest in manifests if manifest["kind"] in WORKLOAD_ORDER]
    return sorted(found, key=lambda workload: WORKLOAD_ORDER.index(workload.kind))


def start_order(manifests: list[dict[str, Any]]) -> list[Workload]:
    """Stores first, then Jobs, then Deployments; a Job that calls a Deployment's Service (the
    registry reader set up on the tracking server) after that Deployment, as the program's
    `depends_on` orders them."""
    found = workloads(manifests)
    deployments = [workload for workload in found if workload.kind == "Deployment"]
    served_names = {alias for workload in deployments
                    for alias in service_aliases(manifests, workload) if "." in alias}
    late = [workload for workload in found if workload.kind == "Job"
            and any(name in json.dumps(workload.pod_spec) for name in served_names)]
    return [workload for workload in found if workload not in late] + late


def cron_jobs(manifests: list[dict[str, Any]]) -> dict[str, Workload]:
    return {manifest["metadata"]["name"]: _workload(manifest) for manifest in manifests
            if manifest["kind"] == "CronJob"}


def _workload(manifest: dict[str, Any]) -> Workload:
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template = spec["template"]
    meta = manifest["metadata"]
    return Workload(manifest["kind"], meta["name"], meta.get("namespace", "default"),
                    template.get("metadata", {}).get("labels", {}), template["spec"])


def service_aliases(manifests: list[dict[str, Any]], workload: Workload) -> list[str]:
    """The DNS names of every Service that selects the workload's pods."""
    aliases = []
    for service in selecting_services(manifests, workload.namespace, workload.labels):
        name, namespace = service["metadata"]["name"], workload.namespace
        aliases += [name, f"{name}.{namespace}", f"{name}.{namespace}.svc",
                    f"{name}.{namespace}.{CLUSTER_DOMAIN}"]
    return aliases


def environment(cluster: Cluster, workload: Workload, container: Mapping[str, Any]
                ) -> dict[str, str]:
    """env and envFrom, with Secret references resolved as the kubelet would."""
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            values.update(cluster.secret(workload.namespace, source["secretRef"]["name"]))
    for variable in container.get("env", []):
        if "value" in variable:
            values[variable["name"]] = str(variable["value"])
            continue
        reference = variable.get("valueFrom", {})
        if "secretKeyRef" in reference:
            key_ref = reference["secretKeyRef"]
            values[variable["name"]] = cluster.secret(workload.namespace, key_ref["name"])[
                key_ref["key"]]
        elif "fieldRef" in reference:
            values[variable["name"]] = _field(workload, reference["fieldRef"]["fieldPath"])
    return values


def _field(workload: Workload, path: str) -> str:
    fields = {"metadata.namespace": workload.namespace, "metadata.name": workload.name}
    if path not in fields:
        raise PodsError(f"{workload.name}: fieldRef {path} is not supported by make pods")
    return fields[path]


def security_options(pod_spec: Mapping[str, Any], container: Mapping[str, Any]) -> list[str]:
    """User, group, read-only root, capabilities, no-new-privileges, from the pod spec."""
    context = {**pod_spec.get("securityContext", {}), **container.get("securityContext", {})}
    options = []
    if "runAsUser" in context:
        options += ["--user", f"{context['runAsUser']}:{context.get('runAsGroup', 0)}"]
    if context.get("readOnlyRootFilesystem"):
        # Only the declared volumes are writable, as in the pod (podman adds its own tmpfs).
        options += ["--read-only", "--read-only-tmpfs=false"]
    for capability in context.get("capabilities", {}).get("drop", []):
        options += ["--cap-drop", capability]
    for capability in context.get("capabilities", {}).get("add", []):
        options += ["--cap-add", capability]
    if context.get("allowPrivilegeEscalation") is False:
        options += ["--security-opt", "no-new-privileges"]
    return options


def volume_options(cluster: Cluster, workload: Workload, container: Mapping[str, Any]
                   ) -> list[str]:
    volumes = {volume["name"]: volume for volume in workload.pod_spec.get("volumes", [])}
    options = []
    for mount in container.get("volumeMounts", []):
        path, volume = mount["mountPath"], volumes.get(mount["name"])
        if volume is None:  # a StatefulSet's volume claim: a named podman volume
            options += ["-v", f"{_claim_volume(cluster, workload, mount['name'])}:{path}:U"]
        elif "emptyDir" in volume and _shared(workload, mount["name"]):
            # Owned by the pod's user (fsGroup's effect); a read-only mount keeps the owner.
            mode = "ro" if mount.get("readOnly") else "U"
            options += ["-v", f"{_pod_volume(cluster, workload, mount['name'])}:{path}:{mode}"]
        elif "emptyDir" in volume:
            options += ["--tmpfs", f"{path}:rw,mode=1777"]
        elif "secret" in volume:
            options += ["-v", f"{_secret_files(cluster, workload, volume['secret'])}:{path}:ro"]
        else:
            raise PodsError(f"{workload.name}: volume {mount['name']} has a kind make pods "
                            "does not run")
    return options


def _shared(workload: Workload, volume: str) -> bool:
    """Whether more than one container of the pod (init containers included) mounts it."""
    containers = [*workload.pod_spec.get("initContainers", []), *workload.pod_spec["containers"]]
    return sum(any(mount["name"] == volume for mount in container.get("volumeMounts", []))
               for container in containers) > 1


def _claim_volume(cluster: Cluster, workload: Workload, claim: str) -> str:
    return _pod_volume(cluster, workload, claim)


def _pod_volume(cluster: Cluster, workload: Workload, claim: str) -> str:
    """A podman volume of this pod (a volume claim or a shared emptyDir), removed at stop."""
    name = f"{cluster.network}-{workload.name}-{claim}"
    if name not in cluster.volumes:  # `podman run` creates it on first use
        cluster.volumes.append(name)
    return name


def _secret_files(cluster: Cluster, workload: Workload, source: Mapping[str, Any]) -> Path:
    values = cluster.secret(workload.namespace, source["secretName"])
    folder = Path(tempfile.mkdtemp(prefix=f"{source['secretName']}-", dir=cluster.work_dir))
    items = source.get("items") or [{"key": key, "path": key} for key in values]
    for item in items:
        (folder / item["path"]).write_text(values[item["key"]])
        (folder / item["path"]).chmod(0o644)
    folder.chmod(0o755)
    return folder


def port_options(cluster: Cluster, workload: Workload, ports: list[Mapping[str, Any]]
                 ) -> list[str]:
    """Publish each port on 127.0.0.1, so probes, tests and scrapers reach it from here."""
    options = []
    for port in ports:
        host_port = free_port("127.0.0.1")
        cluster.host_ports[(workload.name, port["containerPort"])] = host_port
        options += ["-p", f"127.0.0.1:{host_port}:{port['containerPort']}"]
    return options


def run_arguments(cluster: Cluster, workload: Workload, container: Mapping[str, Any],
                  *, detach: bool) -> list[str]:
    """`podman run …` for one container of the pod, exactly as its spec says."""
    name = container_name(cluster, workload, container)
    arguments = ["run", "--name", name, "--pull", "never"]
    arguments += ["-d"] if detach else []
    arguments += network_options(cluster, workload, container, detach=detach)
    arguments += security_options(workload.pod_spec, container)
    arguments += volume_options(cluster, workload, container)
    values = environment(cluster, workload, container)
    arguments += ["--env-file", str(_env_file(cluster, name, values))]
    if container.get("command"):
        command = [expand(str(part), values) for part in container["command"]]
        arguments += ["--entrypoint", json.dumps(command)]
    arguments.append(cluster.image_map.get(container["image"], container["image"]))
    return arguments + [expand(str(argument), values) for argument in container.get("args", [])]


def network_options(cluster: Cluster, workload: Workload, container: Mapping[str, Any], *,
                    detach: bool) -> list[str]:
    """The pod's network: the first container joins the cluster's under the pod's Service
    names and publishes the ports of every container of the pod (its sidecars' too, as a
    pod's IP serves them all); a running pod's other containers join the first's."""
    first = workload.pod_spec["containers"][0]
    if not detach or container is first or container.get("name") == first.get("name"):
        options = ["--network", cluster.network, "--hostname", workload.name]
        for alias in service_aliases(cluster.manifests, workload):
            options += ["--network-alias", alias]
        served = workload.pod_spec["containers"] if detach else [container]
        ports = [port for each in served for port in each.get("ports", [])]
        return options + port_options(cluster, workload, ports)
    return ["--network", f"container:{container_name(cluster, workload, first)}"]


def expand(text: str, values: Mapping[str, str]) -> str:
    """The kubelet's `$(VAR)` expansion in command and args; `$$` escapes, unknown stays."""
    return _VARIABLE.sub(lambda match: "$" if match[0] == "$$" else values.get(
        match[1], match[0]), text)


def _env_file(cluster: Cluster, name: str, values: Mapping[str, str]) -> Path:
    """Secret values go through a private file, never onto podman's command line."""
    path = cluster.work_dir / f"{name}.env"
    path.touch(mode=0o600)
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def container_name(cluster: Cluster, workload: Workload, container: Mapping[str, Any]) -> str:
    return f"{cluster.network}-{workload.name}-{container['name']}"


def start(cluster: Cluster, workload: Workload) -> None:
    """Run the init containers to completion, then the containers: a Job's to completion,
    the others until their readiness probe passes."""
    for container in workload.pod_spec.get("initContainers", []):
        _run_container(cluster, workload, container, detach=False)
    for container in workload.pod_spec["containers"]:
        detach = workload.kind != "Job"
        _run_container(cluster, workload, container, detach=detach)
        if detach:
            wait_until_ready(cluster, workload, container)


def _run_container(cluster: Cluster, workload: Workload, container: Mapping[str, Any], *,
                   detach: bool) -> None:
    name = container_name(cluster, workload, container)
    cluster.containers.append(name)
    try:
        result = _podman(*run_arguments(cluster, workload, container, detach=detach),
                         check=False, timeout=JOB_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise PodsError(f"{workload.kind} {workload.name}: container {container['name']} did "
                        f"not finish within {JOB_TIMEOUT:.0f} s; its own log (container "
                        f"{name}) ends:\n{logs(name)}{failure_context(cluster, workload)}"
                        ) from None
    if result.returncode != 0:
        raise PodsError(f"{workload.kind} {workload.name}: container {container['name']} "
                        f"failed (exit {result.returncode}): {result.stderr.strip()}\n"
                        f"its own log (container {name}) ends:\n{logs(name)}"
                        f"{failure_context(cluster, workload)}")


def run_job(cluster: Cluster, cron_job: str) -> str:
    """Run a CronJob's job now, as `kubectl create job --from=cronjob/<name>` would; its log."""
    workload = cron_jobs(cluster.manifests)[cron_job]
    job = Workload("Job", f"{cron_job}-{len(cluster.containers)}", workload.namespace,
                   workload.labels, workload.pod_spec)
    start(cluster, job)
    return "\n".join(logs(container_name(cluster, job, container))
                     for container in job.pod_spec["containers"])


def wait_until_ready(cluster: Cluster, workload: Workload, container: Mapping[str, Any],
                     timeout: float = READY_TIMEOUT) -> None:
    """Poll the container's readiness probe until it passes; fail fast if the container exits."""
    probe = container.get("readinessProbe") or container.get("startupProbe")
    name = container_name(cluster, workload, container)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_running(name):
            raise PodsError(f"{workload.name}: container {container['name']} exited; its "
                            f"own log (container {name}) ends:\n{logs(name)}"
                            f"{failure_context(cluster, workload)}")
        if probe is None or _probe_passes(cluster, workload, container, probe):
            return
        time.sleep(0.5)  # polling interval of the probe, not a synchronisation
    raise PodsError(f"{workload.name}: not ready after {timeout:.0f} s: its readiness probe "
                    f"({describe_probe(cluster, workload, container, probe)}) never passed; "
                    f"its own log (container {name}) ends:\n{logs(name)}"
                    f"{failure_context(cluster, workload)}")


def describe_probe(cluster: Cluster, workload: Workload, container: Mapping[str, Any],
                   probe: Mapping[str, Any] | None) -> str:
    """What the probe tried, with the address on this machine."""
    if probe is None:
        return "none"
    if "httpGet" in probe:
        port = _container_port(container, probe["httpGet"]["port"])
        return (f"GET {cluster.url(workload.name, port)}{probe['httpGet']['path']}, "
                f"container port {port}")
    if "tcpSocket" in probe:
        port = _container_port(container, probe["tcpSocket"]["port"])
        return f"connect to {cluster.url(workload.name, port)}, container port {port}"
    if "exec" in probe:
        return "exec " + " ".join(probe["exec"]["command"])
    return str(sorted(probe))


def called_services(cluster: Cluster, workload: Workload) -> list[tuple[str, Workload]]:
    """The Service names the workload's spec and env mention, each with the workload behind it."""
    text = json.dumps([workload.pod_spec, *[
        environment(cluster, workload, container)
        for container in [*workload.pod_spec.get("initContainers", []),
                          *workload.pod_spec["containers"]]]])
    called = []
    for server in workloads(cluster.manifests):
        names = sorted((alias for alias in service_aliases(cluster.manifests, server)
                        if "." in alias and alias in text), key=len)
        if server.name != workload.name and names:
            called.append((names[-1], server))
    return called


def failure_context(cluster: Cluster, workload: Workload,
                    read_log: Callable[[str], str] | None = None) -> str:
    """The likely cause of a failed or unready workload: the Services it calls and their logs."""
    read_log = read_log or logs
    parts = []
    for service, server in called_services(cluster, workload):
        first = container_name(cluster, server, server.pod_spec["containers"][0])
        if first in cluster.containers:
            log_tail = "\n".join(read_log(first).splitlines()[-CALLED_LOG_LINES:])
            parts.append(f"\n--- it calls {service}; the log of {server.name} "
                         f"(container {first}) ends:\n{log_tail}")
    if not parts:
        return ""
    return "".join(parts) + (
        f"\nA Service name that does not resolve means Service DNS is missing (see "
        f"{TROUBLESHOOTING}); otherwise the log of the server it calls says why.")


def _probe_passes(cluster: Cluster, workload: Workload, container: Mapping[str, Any],
                  probe: Mapping[str, Any]) -> bool:
    if "exec" in probe:
        command = probe["exec"]["command"]
        name = container_name(cluster, workload, container)
        return _podman("exec", name, *command, check=False).returncode == 0
    if "httpGet" in probe:
        get = probe["httpGet"]
        port = _container_port(container, get["port"])
        headers = {header["name"]: header["value"] for header in get.get("httpHeaders", [])}
        # Always http://127.0.0.1:<published port>: no other scheme can reach urlopen here.
        request = urllib.request.Request(  # noqa: S310
            cluster.url(workload.name, port) + get["path"], headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                return 200 <= response.status < 400
        except (urllib.error.URLError, OSError):
            return False
    if "tcpSocket" in probe:
        port = _container_port(container, probe["tcpSocket"]["port"])
        try:
            socket.create_connection(("127.0.0.1", cluster.host_ports[(workload.name, port)]),
                                     timeout=2).close()
        except OSError:
            return False
        return True
    raise PodsError(f"{workload.name}: probe {sorted(probe)} is not supported by make pods")


def _container_port(container: Mapping[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    for declared in container.get("ports", []):
        if declared.get("name") == port:
            return declared["containerPort"]
    raise PodsError(f"container {container['name']} declares no port named {port!r}")


def restart(cluster: Cluster, workload_name: str) -> None:
    """Stop and start a running workload's containers (same volumes), then wait until ready."""
    workload = next(w for w in workloads(cluster.manifests) if w.name == workload_name)
    for container in workload.pod_spec["containers"]:
        name = container_name(cluster, workload, container)
        _podman("restart", name)
        wait_until_ready(cluster, workload, container)


def roll(cluster: Cluster, workload: Workload) -> None:
    """Replace a running workload's containers by its new spec (a Deployment's rollout, one
    pod): the old ones stop, the new ones start under the same names and Service aliases."""
    # The last first: the pod's other containers share the first one's network namespace,
    # and podman refuses to remove a container others depend on.
    for container in reversed(workload.pod_spec["containers"]):
        name = container_name(cluster, workload, container)
        _podman("rm", "--force", "--time", "10", name)
        if name in cluster.containers:
            cluster.containers.remove(name)
    start(cluster, workload)


def memory_peaks(cluster: Cluster) -> dict[str, int]:
    """Peak memory (bytes) of each running container, from its cgroup."""
    peaks = {}
    for name in cluster.containers:
        result = _podman("exec", name, "cat", "/sys/fs/cgroup/memory.peak",
                         check=False)
        if result.returncode != 0:
            result = _podman("exec", name, "cat",
                             "/sys/fs/cgroup/memory/memory.max_usage_in_bytes", check=False)
        if result.returncode == 0 and result.stdout.strip().isdigit():
            peaks[name] = int(result.stdout.strip())
    return peaks


def logs(name: str) -> str:
    result = _podman("logs", name, check=False)
    return (result.stdout + result.stderr)[-4000:]


def _is_running(name: str) -> bool:
    result = _podman("inspect", "--format", "{{.State.Running}}", name, check=False)
    return result.stdout.strip() == "true"


@contextmanager
def running(manifests: list[dict[str, Any]], image_map: Mapping[str, str], work_dir: Path,
            run_id: str) -> Iterator[Cluster]:
    """Every workload started in order; all containers, volumes and the network removed after."""
    check_service_dns()
    cluster = Cluster(run_id, manifests, work_dir, image_map)
    _podman("network", "create", cluster.network)
    try:
        start_all(cluster)
        yield cluster
    finally:
        stop(cluster)


def start_all(cluster: Cluster) -> None:
    for workload in start_order(cluster.manifests):
        start(cluster, workload)


def stop(cluster: Cluster) -> None:
    for name in reversed(cluster.containers):
        _podman("rm", "--force", "--time", "5", name, check=False)
    for volume in cluster.volumes:
        _podman("volume", "rm", "--force", volume, check=False)
    _podman("network", "rm", "--force", cluster.network, check=False)


def _podman(*arguments: str, check: bool = True, timeout: float = 120.0,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([PODMAN, *arguments], capture_output=True, text=True,
                            timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise PodsError(f"podman {' '.join(arguments[:3])} failed: {result.stderr.strip()}")
    return result


# Third-party images that cannot be pulled here run as stand-ins built from Debian or PyPI
# packages (infra/images/standins/), honouring the same env contract.
STAND_INS = {
    "postgres": "mlops-platform/standin-postgres",
    "chrislusf/seaweedfs": "mlops-platform/standin-object-store",
    "prom/pushgateway": "mlops-platform/standin-prometheus",
    "prom/prometheus": "mlops-platform/standin-prometheus",
}
LOCAL_PREFIX = "localhost/"


def local_images(manifests: list[dict[str, Any]], version: str) -> dict[str, str]:
    """Each rendered image reference -> the image built here (`make images`)."""
    mapping = {}
    for image in _images(manifests):
        repository = image_repository(image)
        if repository in STAND_INS:
            mapping[image] = f"{LOCAL_PREFIX}{STAND_INS[repository]}:{version}"
        elif repository.startswith("mlops-platform/"):
            mapping[image] = f"{LOCAL_PREFIX}{repository}:{version}"
    return mapping


def image_repository(image: str) -> str:
    """`registry.example.com/org/app:1.0@sha256:…` -> `org/app`."""
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return rest
    return name


def _images(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["image"]} if isinstance(value.get("image"), str) else set()
        return found.union(*(_images(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_images(item) for item in value))
    return set()


def render(stack: str, config_overrides: Mapping[str, Any] | None = None
           ) -> list[dict[str, Any]]:
    """The stack's objects as `pulumi up` would send them, secrets included (mocked values)."""
    from mlops_platform.local_cluster.manifests import to_manifests
    from mlops_platform.local_cluster.mocked_engine import record_stack

    return to_manifests(record_stack(stack, config_overrides), redact=False)


def render_scraped(stack: str, config_overrides: Mapping[str, Any] | None = None
                   ) -> list[dict[str, Any]]:
    """The stack in `operator` scrape mode, plus the Prometheus its monitors and rules
    configure (what kube-prometheus-stack would run), in the monitoring namespace."""
    overrides = {**(config_overrides or {}), "scrape_mode": "operator",
                 "monitoring_namespace": MONITORING_NAMESPACE}
    manifests = render(stack, overrides)
    return manifests + scraper_manifests(
        manifests, MONITORING_NAMESPACE, SCRAPE_INTERVAL,
        lambda namespace, name: rendered_secret(manifests, namespace, name))


def smoke_test(cluster: Cluster, namespace: str) -> None:
    """The platform's own smoke test, from the tools image, against the Service name."""
    job = Workload("Job", "smoke-test", namespace, {}, {"containers": [{
        "name": "smoke-test", "image": _tools_image(cluster),
        "command": ["python", "-m", "mlops_platform.ci.smoke_test", "--tracking-uri",
                    f"http://mlflow.{namespace}.{CLUSTER_DOMAIN}:5000"],
        "env": [{"name": "HOME", "value": "/tmp"},  # noqa: S108 - the pod's emptyDir
                *_tracking_credentials(cluster, namespace)],
        "securityContext": {"runAsUser": 10001, "runAsGroup": 10001,
                            "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],  # noqa: S108 - emptyDir
        "volumes": [{"name": "tmp", "emptyDir": {}}]})
    start(cluster, job)


def _tools_image(cluster: Cluster) -> str:
    return next(local for image, local in cluster.image_map.items()
                if image_repository(image) == "mlops-platform/tools")


def _tracking_credentials(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    server = cluster.secret(namespace, "mlflow-server")
    return [{"name": "MLFLOW_TRACKING_USERNAME", "value": server["MLFLOW_AUTH_ADMIN_USERNAME"]},
            {"name": "MLFLOW_TRACKING_PASSWORD", "value": server["MLFLOW_AUTH_ADMIN_PASSWORD"]}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.local_cluster.pods",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--version", default="0.1.0", help="tag of the images `make images` built")
    parser.add_argument("--keep", action="store_true",
                        help="keep the containers running until Enter or Ctrl-C")
    args = parser.parse_args(argv)
    try:
        return run_and_check(args.stack, args.version, keep=args.keep)
    except PodsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def run_and_check(stack: str, version: str, *, keep: bool) -> int:
    """Start the stack's pods, run the smoke test, report; everything is removed after."""
    manifests = render_scraped(stack)
    namespace = next(w.namespace for w in workloads(manifests) if w.name == "mlflow")
    with tempfile.TemporaryDirectory(prefix="mlops-pods-") as work_dir, running(
            manifests, local_images(manifests, version), Path(work_dir),
            secrets.token_hex(3)) as cluster:
        smoke_test(cluster, namespace)
        print(f"{stack}: {len(cluster.containers)} containers ran; smoke test passed.")
        print(f"MLflow: {cluster.url('mlflow', 5000)} (Host header "
              f"mlflow.{namespace}.{CLUSTER_DOMAIN}:5000)")
        print(f"Prometheus: {cluster.url(PROMETHEUS.name, PROMETHEUS.port)} (targets, alerts "
              "and queries of the pods' metrics)")
        if keep:
            with contextlib.suppress(KeyboardInterrupt, EOFError):
                input("Running; press Enter to stop everything. ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
