"""Small real sklearn models logged to a real tracking server, registered as the gate sees them."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import sklearn
import yaml
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from mlops_platform import contract as ml_contract
from mlops_platform.contract import PlatformOutputs

FEATURES = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
LABELS = np.array([0, 1, 0, 1])
MODEL = LogisticRegression().fit(FEATURES, LABELS)


def lineage(validation: str = ml_contract.DATA_VALIDATION_PASSED) -> dict[str, str]:
    return {ml_contract.TAG_GIT_COMMIT: "0123abc", ml_contract.TAG_DATA_HASH: "d41d8cd9",
            ml_contract.TAG_DATASET: "breast_cancer", ml_contract.TAG_PARAMS_HASH: "p1",
            ml_contract.TAG_DATA_VALIDATION: validation}


@contextlib.contextmanager
def tracking_to(tracking_uri: str) -> Iterator[None]:
    """MLflow's fluent API at `tracking_uri`; the environment variable it sets is restored,
    so that processes other tests start later do not inherit it."""
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(tracking_uri)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


def experiment(tracking_uri: str, model_name: str) -> str:
    client = MlflowClient(tracking_uri)
    name = f"gate-{model_name}"
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found else client.create_experiment(name)


def register_version(tracking_uri: str, model_name: str, roc_auc: float,
                     tags: dict[str, str] | None = None, model_card: bool = True) -> str:
    """Log a run (model, metric, card) and register it as the challenger; its version."""
    tags = lineage() if tags is None else tags
    with tracking_to(tracking_uri), mlflow.start_run(
            experiment_id=experiment(tracking_uri, model_name), tags=tags) as run:
        info = mlflow.sklearn.log_model(MODEL, name="model",
                                        pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
        mlflow.log_metric("roc_auc", roc_auc)
        if model_card:
            mlflow.log_text(f"# {model_name}\n", ml_contract.MODEL_CARD_ARTIFACT)
    with tracking_to(tracking_uri):
        version = mlflow.register_model(info.model_uri, model_name,
                                        tags={**tags, ml_contract.TAG_RUN_ID: run.info.run_id})
    MlflowClient(tracking_uri).set_registered_model_alias(
        model_name, ml_contract.ALIAS_CHALLENGER, version.version)
    return str(version.version)


def fresh_model_name() -> str:
    return f"gate-{uuid.uuid4().hex[:10]}"


def write_project(root: Path, outputs: PlatformOutputs, model_name: str, level: int = 1,
                  threshold: float = 0.9, tolerance: float = 0.01) -> Path:
    """The files of a project the gate reads: params.yaml and platform_outputs.json."""
    root.mkdir(parents=True, exist_ok=True)
    params = {"project": {"maturity_level": level}, "model": {"name": model_name},
              "promotion": {"primary_metric": "roc_auc", "threshold": threshold,
                            "tolerance": tolerance, "higher_is_better": True}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    outputs.write(root / "platform_outputs.json")
    return root
