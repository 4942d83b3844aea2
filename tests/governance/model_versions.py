"""Small real sklearn models logged to a real tracking server, registered as the gate sees them.

The gate recomputes a version's metric on the project's test split, so each helper model
really scores what its run logs: the split (written into the project by write_project)
holds one score column per hundredth of ROC AUC, and the model for an AUC of k/100 is a
logistic regression that reads column k only.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
import yaml
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from mlops_platform import contract as ml_contract
from mlops_platform.contract import PlatformOutputs

CLASS_SIZE = 10  # positives and negatives each: AUC steps of 1/100
SCORE_COLUMNS = [f"s{k:03d}" for k in range(CLASS_SIZE * CLASS_SIZE + 1)]
TEST_FILE = "data/prepared/test.csv"


def score_column(concordant: int) -> list[float]:
    """Negatives score 0..9; positives placed so that `concordant` of the 100 pairs rank right."""
    whole, part = divmod(concordant, CLASS_SIZE)
    positives = [10.0] * whole + ([part - 0.5] if part else [])
    positives += [-1.0] * (CLASS_SIZE - len(positives))
    return [float(n) for n in range(CLASS_SIZE)] + positives


def test_split() -> pd.DataFrame:
    frame = pd.DataFrame({column: score_column(k) for k, column in enumerate(SCORE_COLUMNS)})
    frame["target"] = [0] * CLASS_SIZE + [1] * CLASS_SIZE
    return frame


def model_with_auc(roc_auc: float) -> LogisticRegression:
    """A fitted-by-hand logistic regression whose ROC AUC on test_split() is `roc_auc`."""
    model = LogisticRegression()
    model.classes_ = np.array([0, 1])
    model.coef_ = np.zeros((1, len(SCORE_COLUMNS)))
    model.coef_[0, round(roc_auc * CLASS_SIZE * CLASS_SIZE)] = 1.0
    model.intercept_ = np.zeros(1)
    model.n_features_in_ = len(SCORE_COLUMNS)
    model.feature_names_in_ = np.array(SCORE_COLUMNS, dtype=object)
    return model


def true_auc(model: LogisticRegression) -> float:
    split = test_split()
    return float(roc_auc_score(split["target"], model.predict_proba(split[SCORE_COLUMNS])[:, 1]))


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
                     tags: dict[str, str] | None = None, model_card: bool = True,
                     logged: float | None = None, explanations: bool = True) -> str:
    """Log a run (a model scoring `roc_auc`, the metric, the card) and register it as the
    challenger; its version. `logged` logs another value than the model's true one."""
    tags = lineage() if tags is None else tags
    model = model_with_auc(roc_auc)
    assert abs(true_auc(model) - roc_auc) < 1e-9
    with tracking_to(tracking_uri), mlflow.start_run(
            experiment_id=experiment(tracking_uri, model_name), tags=tags) as run:
        info = mlflow.sklearn.log_model(model, name="model",
                                        pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
        mlflow.log_metric("roc_auc", roc_auc if logged is None else logged)
        if model_card:
            mlflow.log_text(f"# {model_name}\n", ml_contract.MODEL_CARD_ARTIFACT)
        if explanations:
            mlflow.log_dict({"mean_abs_contribution": []}, ml_contract.EXPLAINABILITY_ARTIFACT)
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
    """The files of a project the gate reads: params.yaml, platform_outputs.json and the
    test split."""
    root.mkdir(parents=True, exist_ok=True)
    params = {"project": {"maturity_level": level}, "model": {"name": model_name},
              "data": {"target": "target"},
              "promotion": {"primary_metric": "roc_auc", "threshold": threshold,
                            "tolerance": tolerance, "higher_is_better": True}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    outputs.write(root / "platform_outputs.json")
    (root / TEST_FILE).parent.mkdir(parents=True, exist_ok=True)
    test_split().to_csv(root / TEST_FILE, index=False)
    return root
