"""Read what a Prometheus target exposes, as Prometheus would scrape it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from mlops_platform.processes import tail


def scrape(url: str, auth: tuple[str, str] | None = None) -> list[Sample]:
    """Every sample of the text exposition at ``url`` (a /metrics page)."""
    response = httpx.get(url, auth=auth, timeout=10)
    response.raise_for_status()
    return [sample for family in text_string_to_metric_families(response.text)
            for sample in family.samples]


def values(samples: list[Sample], name: str, **labels: str) -> list[float]:
    """The values of the samples called ``name`` whose labels include ``labels``."""
    return [sample.value for sample in samples
            if sample.name == name and labels.items() <= sample.labels.items()]


def scrape_until(url: str, done: Callable[[list[Sample]], bool],
                 process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0
                 ) -> list[Sample]:
    """Scrape ``url`` until ``done(samples)``; fail at once if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}:\n{tail(log)}"
        try:
            samples = scrape(url)
        except httpx.TransportError:  # not listening yet
            samples = []
        if samples and done(samples):
            return samples
        time.sleep(0.1)
    raise AssertionError(f"{url} never showed what was awaited; last lines of {log}:\n"
                         f"{tail(log)}")
