"""Monitoring: one drift CronJob per served model that declares its data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_platform.deploy.manifest import DeploymentManifestError, load_deployment
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import run_stack
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


def test_a_model_declaring_its_performance_check_gets_a_cronjob_reading_the_shippers_store(
) -> None:
    models = [{"name": "judged", "version": 1, "performance": {
                  "metric": "accuracy", "baseline": 0.93, "min_rows": 50, "max_drop": 0.02}},
              {"name": "unjudged", "version": 1}]
    manifests = to_manifests(run_stack("dev", {"served_models": models}).resources)
    jobs = [c for c in of_kind(manifests, "CronJob")
            if c["metadata"]["name"].endswith("-performance")]
    assert [c["metadata"]["name"] for c in jobs] == ["judged-performance"]
    assert jobs[0]["spec"]["schedule"] == "30 * * * *"
    (container,) = containers(jobs[0])
    assert container["command"] == [
        "mlops-performance",
        "--predictions", "s3://mlflow/monitoring/judged/served/",
        "--labels", "s3://mlflow/monitoring/judged/labels/",
        "--metric", "accuracy", "--baseline", "0.93", "--window", "1d", "--min-rows", "50",
        "--max-drop", "0.02",
        "--report-dir", "s3://mlflow/monitoring/judged/performance/",
        "--model", "judged"]
    # The drift check's place: its labels select the store's and Pushgateway's policies.
    assert jobs[0]["metadata"]["labels"]["app.kubernetes.io/name"] == "drift-monitor"
    assert env_of(container)["AWS_SECRET_ACCESS_KEY"] == secret_ref(
        "artifact-store-credentials", "AWS_SECRET_ACCESS_KEY")


def test_a_performance_check_names_a_metric_mlops_performance_knows(tmp_path: Path) -> None:
    manifest = tmp_path / "staging.yaml"
    manifest.write_text(yaml.safe_dump({
        "environment": "staging", "platform_stack": "org/mlops-platform/staging",
        "models": [{"name": "m", "version": 1,
                    "performance": {"metric": "auc", "baseline": 0.9}}]}))
    with pytest.raises(DeploymentManifestError,
                       match=r"models\.0\.performance\.metric: metric 'auc' is none of"):
        load_deployment(manifest)
