"""A real Prometheus (Debian's package) over a TSDB filled from OpenMetrics text, for tests
that run dashboards' queries and alert rules against it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from mlops_platform.processes import (
    free_port,
    start_process_group,
    stop_process_group,
    wait_until_healthy,
)


def tool(name: str, package: str = "prometheus") -> str:
    """The path of one of Debian's Prometheus programs, or how to install it."""
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: `apt-get install {package}` "
                           "(.ci/run does)")
    return found


def backfill(openmetrics: str, data_dir: Path) -> None:
    """Write the samples as TSDB blocks Prometheus loads at start."""
    source = data_dir.parent / "samples.om.txt"
    source.write_text(openmetrics)
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [tool("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source),
         str(data_dir)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"promtool could not backfill {source}: {result.stderr[-2000:]}")


@dataclass(frozen=True)
class Prometheus:
    url: str

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        """The instant vector `expr` evaluates to at `at` (Unix seconds); raises on an error."""
        return self._get("query", {"query": expr, "time": at})["result"]

    def query_range(self, expr: str, start: float, end: float,
                    step: float) -> list[dict[str, Any]]:
        """The range vector of `expr` from `start` to `end`; raises on an error."""
        return self._get("query_range", {"query": expr, "start": start, "end": end,
                                         "step": step})["result"]

    def _get(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/api/v1/{endpoint}", params=params, timeout=30).json()
        if answer["status"] != "success":
            raise AssertionError(f"{params}: {answer.get('error')}")
        return answer["data"]

    def rules(self) -> list[dict[str, Any]]:
        return [rule for group in self._get("rules", {})["groups"] for rule in group["rules"]]

    def evaluated_rules(self, timeout: float = 60) -> list[dict[str, Any]]:
        """The rules once every one has been evaluated at least once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rules = self.rules()
            if rules and all(rule["health"] != "unknown" for rule in rules):
                return rules
            time.sleep(0.2)
        raise AssertionError(f"Prometheus did not evaluate every rule within {timeout} s")


@contextlib.contextmanager
def running_prometheus(base_dir: Path, openmetrics: str,
                       rules: str | None = None) -> Iterator[Prometheus]:
    """Prometheus on 127.0.0.1 over the backfilled samples, evaluating `rules` every second."""
    data_dir = base_dir / "data"
    backfill(openmetrics, data_dir)
    config: dict[str, Any] = {"global": {"evaluation_interval": "1s"}}
    if rules is not None:
        (base_dir / "rules.yaml").write_text(rules)
        config["rule_files"] = [str(base_dir / "rules.yaml")]
    (base_dir / "prometheus.yaml").write_text(yaml.safe_dump(config))
    port, log = free_port(), base_dir / "prometheus.log"
    process = start_process_group(
        [tool("prometheus"), f"--config.file={base_dir / 'prometheus.yaml'}",
         f"--storage.tsdb.path={data_dir}", f"--web.listen-address=127.0.0.1:{port}"], log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(f"{url}/-/ready", process, log, timeout=60)
        yield Prometheus(url)
    finally:
        stop_process_group(process.pid)
