"""Model versions registered for real on a tracking server, with the metrics of their run."""

from __future__ import annotations

import uuid
from pathlib import Path

import mlflow
import mlflow.sklearn
import yaml
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from mlops_platform.contract import PlatformOutputs


def unique_model_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def register(platform: PlatformOutputs, model_name: str, metrics: dict[str, float],
             alias: str | None = None) -> str:
    mlflow.set_tracking_uri(platform.tracking_uri)
    mlflow.set_registry_uri(platform.registry_uri)
    mlflow.set_experiment(model_name)
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with mlflow.start_run():
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"],
                                        registered_model_name=model_name)
    version = str(info.registered_model_version)
    if alias:
        MlflowClient(platform.tracking_uri).set_registered_model_alias(model_name, alias, version)
    return version


def write_params(project: Path, model_name: str, metric: str = "roc_auc",
                 higher_is_better: bool = True) -> None:
    params = {"project": {"maturity_level": 2}, "model": {"name": model_name},
              "promotion": {"primary_metric": metric, "threshold": 0.5, "tolerance": 0.0,
                            "higher_is_better": higher_is_better}}
    project.mkdir(parents=True, exist_ok=True)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
