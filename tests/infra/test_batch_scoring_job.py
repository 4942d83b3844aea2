"""Batch scoring in the cluster: a served model's `batch` becomes a CronJob that runs
`mlops-score` on its table with the version the model serves, and logs beside its pods."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_platform.deploy.manifest import DeploymentManifestError, load_deployment
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import run_stack
from tests.infra.k8s_objects import container_named, containers, env_of, named, secret_ref
from tests.infra.stacks import SERVED_MODEL, with_a_model


def test_a_model_declaring_batch_scoring_gets_a_cronjob_scoring_with_the_served_version(
        stack: str) -> None:
    manifests = to_manifests(run_stack(stack, with_a_model(stack)).resources)
    job = named(manifests, "CronJob", "demo-classifier-batch-scoring")
    pods = named(manifests, "Deployment", "demo-classifier")
    (container,) = containers(job)
    assert container["command"] == [
        "mlops-score", "--model-uri", "models:/demo-classifier@champion",
        "--input", SERVED_MODEL["batch"]["input"], "--output", SERVED_MODEL["batch"]["output"],
        # Where the log shipper puts the served rows: labels join batch rows the same way.
        "--log", "s3://mlflow/monitoring/demo-classifier/served/"]
    assert job["spec"]["schedule"] == "0 2 * * *"
    assert job["metadata"]["namespace"] == pods["metadata"]["namespace"]
    assert job["metadata"]["labels"]["app.kubernetes.io/name"] == "batch-scoring"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == pods["spec"]["template"]["spec"]["serviceAccountName"]
    assert container["image"].startswith("mlops-platform/tools:0.1.0")
    env, served = env_of(container), env_of(container_named(pods, "mlserver"))
    # The serving pods' registry identity and tracking server; the shippers' store key.
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        assert env[key] == served[key], key
    assert env["AWS_SECRET_ACCESS_KEY"] == secret_ref("prediction-log-credentials",
                                                      "AWS_SECRET_ACCESS_KEY")


def test_only_models_that_declare_batch_scoring_get_the_job() -> None:
    models = [{"name": "scored", "version": 3, "batch": {
                  "input": "s3://mlflow/in/rows.csv", "output": "s3://mlflow/out/",
                  "schedule": "15 * * * *"}},
              {"name": "unscored", "version": 1}]
    manifests = to_manifests(run_stack("dev", {"served_models": models}).resources)
    jobs = [c for c in manifests if c["kind"] == "CronJob"
            and c["metadata"]["name"].endswith("-batch-scoring")]
    assert [job["metadata"]["name"] for job in jobs] == ["scored-batch-scoring"]
    assert jobs[0]["spec"]["schedule"] == "15 * * * *"
    (container,) = containers(jobs[0])
    assert container["command"][2] == "models:/scored/3"


@pytest.mark.parametrize(("batch", "field"), [
    ({"input": "s3://mlflow/in/rows.txt", "output": "s3://mlflow/out/"}, "input"),
    ({"input": "/data/rows.csv", "output": "s3://mlflow/out/"}, "input"),
    ({"input": "s3://mlflow/in/rows.csv", "output": "s3://mlflow/out"}, "output"),
], ids=["not-a-table", "not-in-the-store", "not-a-prefix"])
def test_batch_scoring_names_a_table_and_a_prefix_in_the_store(
        tmp_path: Path, batch: dict[str, str], field: str) -> None:
    manifest = tmp_path / "staging.yaml"
    manifest.write_text(yaml.safe_dump({
        "environment": "staging", "platform_stack": "org/mlops-platform/staging",
        "models": [{"name": "m", "version": 1, "batch": batch}]}))
    with pytest.raises(DeploymentManifestError, match=rf"models\.0\.batch\.{field}"):
        load_deployment(manifest)
