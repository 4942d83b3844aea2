"""The serving runtime's series on a metrics endpoint, read with Prometheus' own parser."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from mlops_platform.monitoring import catalog

SERVING = (catalog.SERVING_REQUESTS, catalog.SERVING_CONTRACT_REJECTIONS, catalog.SERVING_LATENCY,
           catalog.SERVING_REQUEST_ROWS, catalog.SERVING_BATCH_ROWS,
           catalog.SERVING_MODEL_TRAINED, catalog.SERVING_AB_ROWS,
           catalog.SERVING_AB_PREDICT_SECONDS, catalog.SERVING_AB_FAILURES)
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Series:
    """Every sample of the catalog's serving metrics at ``url``: (sample name, labels) to value.

    ``_created`` samples (when a series began) are left out: they say nothing to count."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        text = response.read().decode()
    names = {_family(metric) for metric in SERVING}
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) if family.name in names
            for sample in family.samples if not sample.name.endswith("_created")}


def _family(metric: catalog.Metric) -> str:
    # The parser names a counter's family without its _total suffix, as Prometheus does.
    return metric.name.removesuffix("_total") if metric.kind == "counter" else metric.name


def sample(series: Series, name: str, **labels: str) -> float:
    return series[(name, frozenset(labels.items()))]


def named(series: Series, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples called ``name``, by their labels."""
    return {labels: value for (sample_name, labels), value in series.items()
            if sample_name == name}
