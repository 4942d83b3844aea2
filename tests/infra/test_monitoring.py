"""Monitoring: one drift CronJob per served model that declares its data."""

from __future__ import annotations

from infra.manifests import to_manifests
from infra.mocked_engine import run_stack
from tests.infra.k8s_objects import containers, env_of, named, of_kind, secret_ref
from tests.infra.stacks import with_a_model


def test_the_drift_job_runs_the_check_on_the_models_data_and_reports_to_the_store(
        stack: str) -> None:
    manifests = to_manifests(run_stack(stack, with_a_model(stack)).resources)
    job = named(manifests, "CronJob", "demo-classifier-drift")
    (container,) = containers(job)
    assert container["command"] == [
        "mlops-drift",
        "--reference", "s3://mlflow/monitoring/demo-classifier/reference.parquet",
        "--current", "s3://mlflow/monitoring/demo-classifier/current.parquet",
        "--report-dir", "s3://mlflow/monitoring/demo-classifier/reports",
        "--model", "demo-classifier"]
    assert container["image"].startswith("mlops-platform/tools:0.1.0")
    env = env_of(container)
    assert env["AWS_ENDPOINT_URL"] == \
        f"http://object-store.mlops-{stack}.svc.cluster.local:8333"
    assert env["AWS_SECRET_ACCESS_KEY"] == secret_ref("artifact-store-credentials",
                                                      "AWS_SECRET_ACCESS_KEY")
    assert job["spec"]["concurrencyPolicy"] == "Forbid"


def test_only_models_that_declare_drift_data_are_monitored() -> None:
    models = [{"name": "watched", "version": 1, "drift": {
                  "reference": "s3://b/ref.parquet", "current": "s3://b/cur.parquet",
                  "schedule": "*/30 * * * *"}},
              {"name": "unwatched", "version": 1}]
    manifests = to_manifests(run_stack("dev", {"served_models": models}).resources)
    drift = [c for c in of_kind(manifests, "CronJob")
             if c["metadata"]["labels"]["app.kubernetes.io/name"] == "drift-monitor"]
    assert [c["metadata"]["name"] for c in drift] == ["watched-drift"]
    assert drift[0]["spec"]["schedule"] == "*/30 * * * *"
