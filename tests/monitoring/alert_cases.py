"""For every alert, series that make it fire and series that keep it quiet (promtool's input).

Series are written from the catalog's metrics, never from retyped names; values use
promtool's expanding notation (`0+10x60`: 0, 10, 20, ... one per minute). promtool's clock
starts at Unix time 0, so a timestamp gauge set to 0 reads as "at the start of the test".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlops_platform.monitoring.alerts import AlertThresholds
from mlops_platform.monitoring.catalog import (
    BACKUP_LAST_SUCCESS,
    DRIFT_DETECTED,
    DRIFT_LAST_SUCCESS,
    LATENCY_BUCKETS_SECONDS,
    MODEL_PERFORMANCE_DEGRADED,
    MODEL_PERFORMANCE_LABEL_AGE,
    PERFORMANCE_LAST_SUCCESS,
    PUSHGATEWAY_JOB,
    SERVING_CONTRACT_REJECTIONS,
    SERVING_LATENCY,
    SERVING_MODEL_TRAINED,
    SERVING_REQUESTS,
    SHIPPER_LAG,
    TRACKING_JOB,
    TRACKING_SERVER_UP,
    Metric,
)

MODEL = {"model": "churn", "version": "3"}
SERVED = {**MODEL, "serving_path": "onnx"}
DRIFT_JOB = {"job": "mlops-drift", "model": "churn"}
PERFORMANCE_JOB = {"job": "performance-monitor", **MODEL}
SAMPLES = "x1600"  # one a minute for a little over a day: longer than any case's eval_time


@dataclass(frozen=True)
class Case:
    alert: str
    name: str  # "fires", "quiet", or a word on what differs
    series: list[dict[str, str]]
    eval_time: str
    labels: dict[str, str] = field(default_factory=dict)  # the firing alert's, severity aside
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)
    evaluation_interval: str = "1m"  # longer for a rule whose `for` is a day

    @property
    def fires(self) -> bool:
        return self.name.startswith("fires")

    @property
    def id(self) -> str:
        return f"{self.alert}-{self.name}"


def series(metric: Metric, values: str, suffix: str = "", **labels: str) -> dict[str, str]:
    """One input series: `values` is a start value, optionally `+step` (the count follows)."""
    assert set(labels) - {"job", "instance", "le"} <= set(metric.labels), labels
    body = ",".join(f'{name}="{value}"' for name, value in labels.items())
    return {"series": f"{metric.name}{suffix}{{{body}}}", "values": f"{values}{SAMPLES}"}


def raw(name: str, values: str, **labels: str) -> dict[str, str]:
    body = ",".join(f'{label}="{value}"' for label, value in labels.items())
    return {"series": f"{name}{{{body}}}", "values": f"{values}{SAMPLES}"}


def latency(all_within_seconds: float) -> list[dict[str, str]]:
    """Ten requests a minute, every one answered within the bucket `all_within_seconds`."""
    bounds = [*(str(b) for b in LATENCY_BUCKETS_SECONDS), "+Inf"]
    inside = [b == "+Inf" or float(b) >= all_within_seconds for b in bounds]
    return [series(SERVING_LATENCY, f"0+{10 if hit else 0}", "_bucket", **SERVED, le=bound)
            for bound, hit in zip(bounds, inside, strict=True)]


def requests(per_minute_by_code: dict[str, int]) -> list[dict[str, str]]:
    return [series(SERVING_REQUESTS, f"0+{count}", **SERVED, code=code)
            for code, count in per_minute_by_code.items()]


def rejections(per_minute: int) -> list[dict[str, str]]:
    return [series(SERVING_CONTRACT_REJECTIONS, f"0+{per_minute}", **MODEL, rule="max")]


def trained_at(timestamp: int) -> list[dict[str, str]]:
    return [series(SERVING_MODEL_TRAINED, str(timestamp), **SERVED)]


def backed_up_at(timestamp: int) -> list[dict[str, str]]:
    return [series(BACKUP_LAST_SUCCESS, str(timestamp), job="mlops-backup")]


TRACKING = {"job": TRACKING_JOB, "instance": "mlflow:9103"}
ANNOTATED_TRACKING = {"job": "kubernetes-pods", "instance": "10.0.0.7:9103"}
OTHER_TARGET = [raw("up", "1", job=PUSHGATEWAY_JOB, instance="pushgateway:9091")]
DAYS_40 = 40 * 86400

CASES = [
    Case("MlopsServingLatencyHigh", "fires", latency(1.0), "30m", SERVED),
    Case("MlopsServingLatencyHigh", "quiet", latency(0.05), "30m"),
    Case("MlopsServingLatencyHigh", "quiet-under-a-raised-threshold", latency(1.0), "30m",
         thresholds=AlertThresholds(latency_p99_seconds=2.0)),
    Case("MlopsServingLatencyHigh", "fires-under-a-lowered-threshold", latency(0.05), "30m",
         SERVED, AlertThresholds(latency_p99_seconds=0.01, latency_for="2m")),
    Case("MlopsServingServerErrors", "fires", requests({"200": 90, "500": 10}), "30m", MODEL),
    Case("MlopsServingServerErrors", "quiet", requests({"200": 99, "500": 1}), "30m"),
    Case("MlopsContractRejectionsHigh", "fires",
         requests({"200": 50, "422": 50}) + rejections(50), "30m", MODEL),
    Case("MlopsContractRejectionsHigh", "quiet",
         requests({"200": 95, "422": 5}) + rejections(5), "30m"),
    Case("MlopsServingNoTraffic", "fires", trained_at(0) + requests({"200": 0}), "40m", MODEL),
    Case("MlopsServingNoTraffic", "fires-before-any-request", trained_at(0), "40m", MODEL),
    Case("MlopsServingNoTraffic", "quiet", trained_at(0) + requests({"200": 5}), "40m"),
    Case("MlopsServingNoTraffic", "quiet-when-just-deployed",
         [{**trained_at(0)[0], "values": f"_x25 0{SAMPLES}"}], "40m"),
    Case("MlopsModelStale", "fires", trained_at(-DAYS_40), "10m", MODEL),
    Case("MlopsModelStale", "quiet", trained_at(0), "10m"),
    Case("MlopsModelStale", "fires-under-a-shorter-max-age", trained_at(0), "2h", MODEL,
         AlertThresholds(model_max_age="1h")),
    Case("MlopsDriftDetected", "fires", [series(DRIFT_DETECTED, "1", **DRIFT_JOB)], "10m",
         {"model": "churn"}),
    Case("MlopsDriftDetected", "quiet", [series(DRIFT_DETECTED, "0", **DRIFT_JOB)], "10m"),
    Case("MlopsDriftCheckOverdue", "fires",
         [series(DRIFT_LAST_SUCCESS, str(-DAYS_40), **DRIFT_JOB)], "2h", {"model": "churn"}),
    Case("MlopsDriftCheckOverdue", "quiet", [series(DRIFT_LAST_SUCCESS, "0", **DRIFT_JOB)], "2h"),
    Case("MlopsModelDegraded", "fires",
         [series(MODEL_PERFORMANCE_DEGRADED, "1", **PERFORMANCE_JOB)], "10m", MODEL),
    Case("MlopsModelDegraded", "quiet",
         [series(MODEL_PERFORMANCE_DEGRADED, "0", **PERFORMANCE_JOB)], "10m"),
    Case("MlopsPerformanceCheckOverdue", "fires",
         [series(PERFORMANCE_LAST_SUCCESS, str(-DAYS_40), **PERFORMANCE_JOB)], "2h",
         {"model": "churn"}),
    Case("MlopsPerformanceCheckOverdue", "quiet",
         [series(PERFORMANCE_LAST_SUCCESS, "0", **PERFORMANCE_JOB)], "2h"),
    Case("MlopsLabelsStale", "fires",
         [series(MODEL_PERFORMANCE_LABEL_AGE, str(DAYS_40), **PERFORMANCE_JOB)], "10m", MODEL),
    Case("MlopsLabelsStale", "quiet",
         [series(MODEL_PERFORMANCE_LABEL_AGE, "3600", **PERFORMANCE_JOB)], "10m"),
    Case("MlopsLabelsStale", "fires-under-a-shorter-max-age",
         [series(MODEL_PERFORMANCE_LABEL_AGE, "7200", **PERFORMANCE_JOB)], "10m", MODEL,
         AlertThresholds(label_max_age="1h")),
    Case("MlopsBackupOverdue", "fires", backed_up_at(-DAYS_40), "2h"),
    Case("MlopsBackupOverdue", "quiet", backed_up_at(0), "2h"),
    Case("MlopsBackupOverdue", "fires-under-a-shorter-period", backed_up_at(0), "2h",
         thresholds=AlertThresholds(backup_period="1h", backup_for="10m")),
    Case("MlopsBackupMissing", "fires", OTHER_TARGET, "25h", evaluation_interval="10m"),
    Case("MlopsBackupMissing", "quiet", OTHER_TARGET + backed_up_at(0), "25h",
         evaluation_interval="10m"),
    Case("MlopsTrackingServerDown", "fires-when-its-process-exited",
         [series(TRACKING_SERVER_UP, "0", **TRACKING)], "10m", TRACKING),
    Case("MlopsTrackingServerDown", "fires-when-not-scraped", OTHER_TARGET, "10m"),
    Case("MlopsTrackingServerDown", "quiet", [series(TRACKING_SERVER_UP, "1", **TRACKING)], "10m"),
    # Scraped through pod annotations: the job is the scrape configuration's, not ours.
    Case("MlopsTrackingServerDown", "quiet-under-any-job-name",
         [series(TRACKING_SERVER_UP, "1", **ANNOTATED_TRACKING)], "10m"),
    Case("MlopsTrackingServerDown", "fires-under-any-job-name",
         [series(TRACKING_SERVER_UP, "0", **ANNOTATED_TRACKING)], "10m", ANNOTATED_TRACKING),
    Case("MlopsLogShipperLagging", "fires", [series(SHIPPER_LAG, "1200", model="churn")], "30m",
         {"model": "churn"}),
    Case("MlopsLogShipperLagging", "quiet", [series(SHIPPER_LAG, "30", model="churn")], "30m"),
    Case("MlopsLogShipperLagging", "fires-under-a-lower-max-lag",
         [series(SHIPPER_LAG, "30", model="churn")], "30m", {"model": "churn"},
         AlertThresholds(shipper_max_lag="10s")),
]
