"""The batch jobs' push of their result to the Pushgateway, and its command-line help.

Nothing here names a metric: every name, kind, label and bucket comes from
``mlops_platform.monitoring.catalog``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from mlops_platform.monitoring.catalog import PUSHGATEWAY_ENV, Metric
from mlops_platform.monitoring.metric_collectors import collector_of

PUSH_TIMEOUT_SECONDS = 10.0
PUSHGATEWAY_HELP = (
    f"push the result to this Prometheus Pushgateway when the job succeeds (default: "
    f"${PUSHGATEWAY_ENV}; unset: no push). A push that fails is one line on stderr and "
    "leaves the exit status as the job's own")

def default_pushgateway() -> str | None:
    return os.environ.get(PUSHGATEWAY_ENV) or None


def push_job_result(program: str, gateway: str, job: str, values: Mapping[Metric, float],
                    grouping_key: Mapping[str, str] | None = None,
                    labels: Mapping[str, str] | None = None) -> bool:
    """Replace the group ``job`` (and ``grouping_key``) on the Pushgateway with ``values``.

    Each metric's labels take their values from the grouping key, then ``labels`` (labels that
    change from run to run, such as a model version, are kept out of the key so that each
    push replaces the last one's series instead of leaving them beside it). Batch jobs push
    once, when they succeed (Prometheus' advice): a job that failed pushes nothing, so its
    last-success time ages and the alert on it fires. The push only reports the job's result,
    so a push that fails is one line on stderr and False, never an exception."""
    key = dict(grouping_key or {})
    label_values = {**key, **(labels or {})}
    registry = CollectorRegistry()
    for metric, value in values.items():
        gauge = collector_of(metric, registry)
        assert isinstance(gauge, Gauge), f"{metric.name}: only gauges are pushed"
        (gauge.labels(**{label: label_values[label] for label in metric.labels}) if metric.labels
         else gauge).set(value)
    try:
        push_to_gateway(gateway, job=job, registry=registry, grouping_key=key,
                        timeout=PUSH_TIMEOUT_SECONDS)
    except (OSError, ValueError) as error:  # urllib's URLError and HTTPError are OSErrors
        print(f"{program}: warning: could not push to the Pushgateway at {gateway}: {error} "
              "(the result stands; check --pushgateway or $" + PUSHGATEWAY_ENV + ")",
              file=sys.stderr)
        return False
    return True
