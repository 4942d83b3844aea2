"""The gate's own measurement of a version: its primary metric, recomputed.

Run metrics can be edited by anyone who can log to the run, so the gate never trusts
them: it loads the registered model and scores it on the project's test split (the file
the platform's rules name, e.g. data/prepared/test.csv as DVC restores it).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class Measurement:
    value: float | None
    problem: str = ""  # why there is no value


def test_split(project_root: Path, evaluation: dict[str, Any],
               target: str | None) -> tuple[Any, Any] | str:
    """Features and target of the test file, or why they cannot be read."""
    import pandas as pd

    path = project_root / evaluation["test_file"]
    if not path.is_file():
        return (f"{evaluation['test_file']} is missing: run the pipeline (or `dvc pull`) so the "
                "gate can score the model on the recorded test data")
    frame = pd.read_csv(path)
    target = target or evaluation["default_target"]
    if target not in frame.columns:
        return (f"{evaluation['test_file']} has no target column {target!r} "
                f"({evaluation['target_param']} in params.yaml)")
    return frame.drop(columns=[target]), frame[target]


def measure(client: MlflowClient, model_name: str, version: str, metric: str,
            split: tuple[Any, Any] | str) -> Measurement:
    """`metric` (a scikit-learn scorer name) of version `version` on the test split."""
    import mlflow.artifacts
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException
    from sklearn.metrics import get_scorer

    if isinstance(split, str):
        return Measurement(None, split)
    features, target = split
    with tempfile.TemporaryDirectory(prefix="mlops-gate-") as scratch:
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=client.get_model_version_download_uri(model_name, version),
                dst_path=scratch,
                tracking_uri=client.tracking_uri)
            model = mlflow.sklearn.load_model(local)
        except (MlflowException, OSError) as err:
            return Measurement(None, f"version {version} cannot be loaded as a scikit-learn "
                                     f"model: {str(err).splitlines()[0]}")
    try:
        return Measurement(float(get_scorer(metric)(model, features, target)))
    except (ValueError, KeyError, AttributeError) as err:
        return Measurement(None, f"version {version} cannot be scored on the test split: "
                                 f"{type(err).__name__}: {str(err).splitlines()[0]}")
