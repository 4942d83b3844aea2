"""Read what a Prometheus target exposes, as Prometheus would scrape it."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


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
