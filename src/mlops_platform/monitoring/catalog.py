"""Every metric the platform's own code exports: name, type, labels and meaning, declared once.

The serving runtime, the log shipper and the batch jobs create their collectors from
here; the alert rules and dashboards query these names; a test checks that each one
follows Prometheus' naming conventions. Label values are bounded: model names and
versions come from the deployment, codes and rules from the fixed sets below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]

# The outcomes a served request can have, as HTTP status codes.
REQUEST_CODES = ("200", "400", "413", "422", "500", "503")
# The data contract's rules (mlops_platform.data_contract_rules), one label value each.
CONTRACT_RULES = ("extra", "missing", "duplicate", "null", "type", "min", "max", "allowed")
SERVING_PATHS = ("onnx", "mlflow")
# The arms of an A/B test (mlops_platform.prediction_log.ARMS; this module imports nothing).
AB_ARMS = ("champion", "challenger")
LATENCY_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                           5.0, 10.0)
ROW_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000)


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


MODEL = ("model", "version")

# The serving runtime (MLServer with mlops_platform.serving_runtime), on its metrics port.
SERVING_REQUESTS = Metric(
    "mlops_serving_requests_total", "counter",
    "Prediction requests answered, by HTTP status code.", (*MODEL, "serving_path", "code"))
SERVING_CONTRACT_REJECTIONS = Metric(
    "mlops_serving_contract_rejections_total", "counter",
    "Requests refused with 422, by the data-contract rule they broke first.", (*MODEL, "rule"))
SERVING_LATENCY = Metric(
    "mlops_serving_request_duration_seconds", "histogram",
    "Time from a request's arrival to its answer.", (*MODEL, "serving_path"),
    LATENCY_BUCKETS_SECONDS)
SERVING_REQUEST_ROWS = Metric(
    "mlops_serving_request_rows", "histogram", "Rows per prediction request.", MODEL, ROW_BUCKETS)
SERVING_BATCH_ROWS = Metric(
    "mlops_serving_batch_rows", "histogram",
    "Rows per model call of the busy-time batcher (requests merged while the model was busy).",
    MODEL, ROW_BUCKETS)
SERVING_MODEL_TRAINED = Metric(
    "mlops_serving_model_trained_timestamp_seconds", "gauge",
    "When the served version's training run ended (Unix time): the model's age is "
    "time() minus this.", (*MODEL, "serving_path"))
SERVING_AB_ROWS = Metric(
    "mlops_serving_ab_test_rows_total", "counter",
    "Rows answered in an A/B test, by arm; version is the version of the arm that answered.",
    (*MODEL, "arm"))
SERVING_AB_PREDICT_SECONDS = Metric(
    "mlops_serving_ab_test_predict_seconds", "histogram",
    "Time an A/B test's arm took to predict its rows of a request (its batcher's wait "
    "included), by arm.", (*MODEL, "arm"), LATENCY_BUCKETS_SECONDS)
SERVING_AB_FAILURES = Metric(
    "mlops_serving_ab_test_failures_total", "counter",
    "Predictions of an A/B test's arm that failed (the request was answered with an error).",
    (*MODEL, "arm"))

# The log shipper sidecar, on its own metrics port.
SHIPPER_LINES = Metric(
    "mlops_log_shipper_lines_shipped_total", "counter",
    "Prediction-log lines uploaded to the artifact store.", ("model",))
SHIPPER_FAILURES = Metric(
    "mlops_log_shipper_failures_total", "counter",
    "Upload attempts that failed (the lines stay and are retried).", ("model",))
SHIPPER_LAG = Metric(
    "mlops_log_shipper_lag_seconds", "gauge",
    "Age of the oldest prediction-log line not yet shipped (0 when all are shipped).",
    ("model",))

# Batch jobs push these to the Pushgateway when they finish (Prometheus' advice for batch
# jobs); the `job` label is the Pushgateway grouping key.
DRIFT_DETECTED = Metric(
    "mlops_drift_detected", "gauge",
    "1 when the last drift check found dataset drift on the served inputs, else 0.", ("model",))
DRIFT_SHARE = Metric(
    "mlops_drift_share_of_drifted_columns", "gauge",
    "Share (0 to 1) of the contract's columns that drifted in the last check.", ("model",))
DATA_STALENESS = Metric(
    "mlops_drift_data_staleness_seconds", "gauge",
    "Age of the newest served row the last drift check read.", ("model",))
DRIFT_LAST_SUCCESS = Metric(
    "mlops_drift_last_success_timestamp_seconds", "gauge",
    "When the drift check last finished (Unix time).", ("model",))
MODEL_PERFORMANCE = Metric(
    "mlops_model_performance", "gauge",
    "The project's primary metric (the one it promotes on) on the latest window of labelled "
    "predictions the performance check gave a verdict on.", MODEL)
MODEL_PERFORMANCE_ROWS = Metric(
    "mlops_model_performance_labelled_rows", "gauge",
    "Labelled predictions in that window.", MODEL)
MODEL_PERFORMANCE_DEGRADED = Metric(
    "mlops_model_performance_degraded", "gauge",
    "1 when that window's primary metric fell below the promoted value by more than the "
    "degradation limit, else 0.", MODEL)
MODEL_PERFORMANCE_LABEL_AGE = Metric(
    "mlops_model_performance_label_age_seconds", "gauge",
    "Age of the newest label the performance check joined.", MODEL)
PERFORMANCE_LAST_SUCCESS = Metric(
    "mlops_model_performance_last_success_timestamp_seconds", "gauge",
    "When the performance check last reached a verdict (Unix time).", MODEL)
BACKUP_LAST_SUCCESS = Metric(
    "mlops_backup_last_success_timestamp_seconds", "gauge",
    "When the metadata database's backup was last uploaded (Unix time).")

# The tracking server's metrics wrapper (mlops_platform.monitoring.tracking_server). The down
# alert and the dashboard read this series instead of `up{job=...}`: its name is the same
# whatever job name a scrape configuration gives the target (pod annotations leave that to it).
TRACKING_SERVER_UP = Metric(
    "mlops_tracking_server_up", "gauge",
    "1 while the MLflow server process runs, 0 once it has exited; absent while its metrics "
    "port cannot be scraped.")

METRICS = (SERVING_REQUESTS, SERVING_CONTRACT_REJECTIONS, SERVING_LATENCY, SERVING_REQUEST_ROWS,
           SERVING_BATCH_ROWS, SERVING_MODEL_TRAINED, SERVING_AB_ROWS,
           SERVING_AB_PREDICT_SECONDS, SERVING_AB_FAILURES, SHIPPER_LINES,
           SHIPPER_FAILURES, SHIPPER_LAG,
           DRIFT_DETECTED, DRIFT_SHARE, DATA_STALENESS, DRIFT_LAST_SUCCESS, MODEL_PERFORMANCE,
           MODEL_PERFORMANCE_ROWS, MODEL_PERFORMANCE_DEGRADED, MODEL_PERFORMANCE_LABEL_AGE,
           PERFORMANCE_LAST_SUCCESS, BACKUP_LAST_SUCCESS, TRACKING_SERVER_UP)

# MLflow's own series on the tracking server's metrics port (its exporter,
# prometheus_flask_exporter with the prefix "mlflow"; mlops_platform.monitoring.tracking_server).
TRACKING_REQUESTS = "mlflow_http_request_total"  # counter: method, status
TRACKING_LATENCY = "mlflow_http_request_duration_seconds"  # histogram: method, status, version

# Where a batch job pushes its result: the Pushgateway's URL, read from the environment (the
# platform's CronJobs get it from the rendered stack).
PUSHGATEWAY_ENV = "MLOPS_PUSHGATEWAY_URL"

# Scrape jobs, as the `job` label the alerts and dashboards select on.
TRACKING_JOB = "mlflow-tracking"
SERVING_JOB = "mlserver"
SHIPPER_JOB = "log-shipper"
PUSHGATEWAY_JOB = "pushgateway"
# The `job` grouping key of what batch jobs push (scraped through PUSHGATEWAY_JOB with
# honor_labels, so these names are the `job` label the alerts see).
DRIFT_JOB = "drift-monitor"
PERFORMANCE_JOB = "performance-monitor"
BACKUP_JOB = "postgres-backup"
