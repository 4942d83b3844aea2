"""Peak memory of each pod's containers under the end-to-end pods test, beside its limit.

Runs `tests/local_cluster/test_pods_end_to_end.py` once (the dev stack's pods, a baked project's
pipeline, serving with its log shipper, the drift and backup CronJobs, a restart of MLflow);
at its end the test reads each running container's peak memory from its cgroup
(`mlops_platform.local_cluster.pods.memory_peaks`), and MLflow's also before the test restarts
it. Jobs' and CronJobs' containers have exited by then: their peaks are not measured.
PostgreSQL and the object store are the stand-ins (Debian's PostgreSQL 15, moto), not the
images a cluster runs. `make pods` enforces no limit (the sandbox's cgroups refuse them), so a
peak above its limit is an OOM kill waiting in a cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.machine import markdown_table, save_results
from mlops_platform.kubernetes.kube_types import memory_bytes
from mlops_platform.local_cluster import pods

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/local_cluster/test_pods_end_to_end.py"
MIB = 2**20


def memory_limits() -> dict[tuple[str, str], int]:
    """(workload, container) -> its memory limit in bytes, as the test renders the stack."""
    from tests.infra.test_pods_end_to_end import SERVED_MODEL

    manifests = pods.render("dev", {"served_models": [SERVED_MODEL]})
    found = [*pods.workloads(manifests), *pods.cron_jobs(manifests).values()]
    return {(workload.name, container["name"]): memory_bytes(
                container["resources"]["limits"]["memory"])
            for workload in found for container in workload.pod_spec["containers"]}


def run_end_to_end(report: Path) -> None:
    environment = {**os.environ, "MLOPS_PODS_MEMORY_REPORT": str(report)}
    subprocess.run([sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider"],
                   cwd=REPO_ROOT, env=environment, check=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-pods-") as folder:
        report = Path(folder) / "peaks.json"
        run_end_to_end(report)
        peaks = json.loads(report.read_text())
    limits = memory_limits()
    results = {}
    for name, peak in sorted(peaks.items()):
        key = next((pair for pair in limits if name.endswith(f"-{pair[0]}-{pair[1]}")), None)
        label = "/".join(key) if key else name
        limit = limits.get(key) if key else None
        results[label] = {"peak_mib": round(peak / MIB, 1),
                          "limit_mib": round(limit / MIB) if limit else None,
                          "share_of_limit": round(peak / limit, 2) if limit else None}
    rows = [[label, r["peak_mib"], r["limit_mib"], r["share_of_limit"]]
            for label, r in results.items()]
    table = markdown_table(["pod/container", "peak MiB", "limit MiB", "peak/limit"], rows)
    save_results("pods", results, table)


if __name__ == "__main__":
    main()
