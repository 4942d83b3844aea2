"""Labels for rows a real server answered: its returned ids, sent back through `mlops-labels`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from mlops_platform.prediction_log import RESPONSE_IDS
from mlops_platform.prediction_store import read_labels
from mlops_platform.serving import ServingHandle, ServingSettings, start_serving

pytestmark = pytest.mark.slow

MODEL_NAME = "labels-test"
FEATURES = ["age", "income"]
MLOPS_LABELS = Path(sys.executable).parent / "mlops-labels"  # the installed entry point


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    columns = [{"name": name, "dtype": "float", "nullable": False, "min": -10.0, "max": 10.0}
               for name in FEATURES]
    columns.append({"name": "target", "dtype": "int", "nullable": False, "allowed": [0, 1]})
    path = tmp_path_factory.mktemp("project") / "data_contract.yaml"
    path.write_text(json.dumps({"target": "target", "columns": columns}))  # JSON is YAML
    return path


@pytest.fixture(scope="module")
def served(tracking: str, mlserver_installed: Path, contract: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServingHandle]:
    rows = frame(100, seed=0)
    model = LogisticRegression().fit(rows, (rows["age"] > 0).astype(int))
    mlflow.set_experiment("labels-test")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"],
                                        signature=infer_signature(rows, model.predict(rows)))
    version = mlflow.register_model(info.model_uri, MODEL_NAME).version
    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", version)
    settings = ServingSettings(model_uri=f"models:/{MODEL_NAME}@champion", contract=contract,
                               log_dir=tmp_path_factory.mktemp("monitoring"))
    with start_serving(settings, work_dir=tmp_path_factory.mktemp("serve")) as handle:
        yield handle


def predict(handle: ServingHandle, rows: pd.DataFrame) -> list[str]:
    """The prediction ids the server answers for ``rows``."""
    response = httpx.post(handle.invocations_url, timeout=30,
                          json={"dataframe_records": rows.to_dict(orient="records")})
    assert response.status_code == 200, response.text
    return response.json()[RESPONSE_IDS]


def send_labels(handle: ServingHandle, contract: Path, labels: Path,
                rows: list[tuple[str, int]]) -> subprocess.CompletedProcess:
    csv = labels.parent / "labels.csv"
    csv.write_text("prediction_id,label\n" + "".join(f"{i},{label}\n" for i, label in rows))
    return subprocess.run([str(MLOPS_LABELS), str(csv), "--predictions",
                           str(handle.prediction_log.parent), "--labels", str(labels),
                           "--contract", str(contract)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_labels_for_the_returned_ids_are_stored_and_unknown_or_repeated_ones_refused(
        served: ServingHandle, contract: Path, tmp_path: Path) -> None:
    ids = predict(served, frame(3, seed=1))
    labels = tmp_path / "labels"
    first = send_labels(served, contract, labels,
                        [(ids[0], 1), (ids[1], 0), ("not-a-served-id", 1)])
    assert first.returncode == 1, first.stderr
    assert "accepted: 2, written to" in first.stdout
    assert "prediction_id 'not-a-served-id': unknown-id" in first.stdout
    assert read_labels(str(labels))[["prediction_id", "label"]].values.tolist() == [
        [ids[0], 1], [ids[1], 0]]

    second = send_labels(served, contract, labels, [(ids[0], 0), (ids[2], 1)])
    assert second.returncode == 1, second.stderr
    assert f"prediction_id '{ids[0]}': duplicate: this prediction is already labelled" in (
        second.stdout)
    stored = read_labels(str(labels))
    assert stored["prediction_id"].tolist() == ids
    assert stored.set_index("prediction_id").loc[ids[0], "label"] == 1  # never replaced
