"""Batch scoring against the real local platform: rows scored, written and logged with ids,
from files or from the store (moto's S3) as the cluster's CronJob reads and writes them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from mlops_platform.batch_scoring import main
from mlops_platform.contract import DATA_CONTRACT_ARTIFACT, TAG_MODEL_DIGEST
from mlops_platform.prediction_store import read_lines
from tests.support.servers import S3Endpoint

pytestmark = pytest.mark.slow

MODEL_NAME = "batch-scoring-test"
FEATURES = ["age", "income"]
CONTRACT = {"target": "bought", "columns": [
    *({"name": name, "dtype": "float", "nullable": False, "min": -10.0, "max": 10.0}
      for name in FEATURES),
    {"name": "bought", "dtype": "int", "nullable": False, "allowed": [0, 1]}]}


def frame(rows: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).normal(size=(rows, 2)), columns=FEATURES)


@pytest.fixture(scope="module")
def champion(tracking: str) -> LogisticRegression:
    rows = frame(100, 0)
    model = LogisticRegression().fit(rows, (rows["age"] > 0).astype(int))
    mlflow.set_experiment("batch-scoring-test")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model",
                                        signature=infer_signature(rows, model.predict(rows)),
                                        pip_requirements=["scikit-learn"],
                                        serialization_format="skops")
        mlflow.log_dict(CONTRACT, DATA_CONTRACT_ARTIFACT)
    version = mlflow.register_model(info.model_uri, MODEL_NAME).version
    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", version)
    return model


def run(tmp_path: Path, rows: pd.DataFrame, *extra: str) -> tuple[int, Path, Path]:
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code = main(["--model-uri", f"models:/{MODEL_NAME}@champion", "--input",
                 str(tmp_path / "rows.csv"), "--output", str(tmp_path / "scored.csv"),
                 "--log", str(tmp_path / "monitoring"), *extra])
    return code, tmp_path / "scored.csv", tmp_path / "monitoring"


def test_rows_are_scored_with_ids_and_logged_as_batch_predictions(champion, tmp_path):
    rows = frame(7, 1).assign(note="dropped: not in the contract")
    code, output, log = run(tmp_path, rows)
    assert code == 0
    scored = pd.read_csv(output, dtype={"prediction_id": str})
    assert scored["prediction"].tolist() == champion.predict(rows[FEATURES]).tolist()
    assert scored["prediction_id"].nunique() == 7
    logged = read_lines(str(log))
    assert logged["prediction_id"].tolist() == scored["prediction_id"].tolist()
    assert set(logged["serving_path"]) == {"batch"}
    assert set(logged["model_name"]) == {MODEL_NAME} and set(logged["model_version"]) == {"1"}
    assert "note" not in logged.columns


def test_a_table_that_breaks_the_contract_is_refused_whole(champion, tmp_path, capsys):
    rows = frame(3, 2)
    rows.loc[1, "age"] = 99.0
    code, output, log = run(tmp_path, rows)
    assert code == 1
    err = capsys.readouterr().err
    assert "breaks the data contract in 1 places; nothing was scored" in err
    assert "age" in err and "max" in err
    assert not output.exists() and not log.exists()


def test_a_contract_given_on_the_command_line_wins(champion, tmp_path, capsys):
    narrow = {**CONTRACT, "columns": [{**column, "max": 0.0} if column["name"] == "income"
                                      else column for column in CONTRACT["columns"]]}
    (tmp_path / "contract.json").write_text(json.dumps(narrow))  # YAML reads JSON
    rows = frame(20, 3)
    code, output, _ = run(tmp_path, rows, "--contract", str(tmp_path / "contract.json"))
    assert code == 1 and not output.exists()
    assert "income" in capsys.readouterr().err


def test_a_uri_outside_the_registry_is_refused_with_the_fix(tracking, tmp_path, capsys):
    frame(2, 4).to_csv(tmp_path / "rows.csv", index=False)
    code = main(["--model-uri", "runs:/abc/model", "--input", str(tmp_path / "rows.csv"),
                 "--output", str(tmp_path / "out.csv"), "--log", str(tmp_path / "log")])
    assert code == 2
    assert "is no registry version: give models:/<name>@champion" in capsys.readouterr().err


def test_a_model_the_registry_does_not_know_is_refused_naming_it(tracking, tmp_path, capsys):
    frame(2, 4).to_csv(tmp_path / "rows.csv", index=False)
    code = main(["--model-uri", "models:/no-such-model@champion", "--input",
                 str(tmp_path / "rows.csv"), "--output", str(tmp_path / "out.csv"),
                 "--log", str(tmp_path / "log")])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("mlops-score: the registry cannot resolve models:/no-such-model@")
    assert not (tmp_path / "out.csv").exists()


def store_client(endpoint: S3Endpoint):
    return boto3.client("s3", endpoint_url=endpoint.url, **{
        name.lower(): value for name, value in endpoint.environment().items()
        if name != "AWS_DEFAULT_REGION"}, region_name="us-east-1")


def test_a_table_in_the_store_is_scored_into_a_file_of_the_run_and_logged_there(
        champion, tmp_path, moto_s3: S3Endpoint):
    """As the CronJob of a served model's `batch` runs it: s3:// in, an s3:// prefix out."""
    client = store_client(moto_s3)
    client.create_bucket(Bucket="mlflow")
    rows = frame(5, 6)
    client.put_object(Bucket="mlflow", Key="batch/rows.csv", Body=rows.to_csv(index=False))
    log = f"s3://mlflow/monitoring/{MODEL_NAME}/served/"

    code = main(["--model-uri", f"models:/{MODEL_NAME}@champion", "--input",
                 "s3://mlflow/batch/rows.csv", "--output", "s3://mlflow/batch/scored/",
                 "--log", log])

    assert code == 0
    [key] = [item["Key"] for item in client.list_objects_v2(
        Bucket="mlflow", Prefix="batch/scored/")["Contents"]]
    assert re.fullmatch(r"batch/scored/scored-\d{8}T\d{6}Z\.csv", key)
    scored = pd.read_csv(client.get_object(Bucket="mlflow", Key=key)["Body"],
                         dtype={"prediction_id": str})
    assert scored["prediction"].tolist() == champion.predict(rows[FEATURES]).tolist()
    assert read_lines(log)["prediction_id"].tolist() == scored["prediction_id"].tolist()


def test_scored_rows_whose_log_cannot_be_written_are_taken_back_from_the_store(
        champion, tmp_path, moto_s3: S3Endpoint, capsys):
    client = store_client(moto_s3)
    client.create_bucket(Bucket="mlflow")
    frame(3, 7).to_csv(tmp_path / "rows.csv", index=False)

    code = main(["--model-uri", f"models:/{MODEL_NAME}@champion", "--input",
                 str(tmp_path / "rows.csv"), "--output", "s3://mlflow/batch/scored/",
                 "--log", "s3://no-such-bucket/monitoring/served/"])

    assert code == 2
    assert "cannot write s3://no-such-bucket/" in capsys.readouterr().err
    assert "Contents" not in client.list_objects_v2(Bucket="mlflow", Prefix="batch/")


def test_a_table_missing_from_the_store_is_named(champion, tmp_path, moto_s3: S3Endpoint,
                                                  capsys):
    store_client(moto_s3).create_bucket(Bucket="mlflow")
    code = main(["--model-uri", f"models:/{MODEL_NAME}@champion", "--input",
                 "s3://mlflow/batch/none.csv", "--output", str(tmp_path / "out.csv"),
                 "--log", str(tmp_path / "log")])
    assert code == 2
    assert "cannot read s3://mlflow/batch/none.csv" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_files_changed_since_the_promotion_are_refused_and_nothing_is_written(
        champion, tmp_path, capsys):
    """As the serving pods: the files must be the ones whose digest the gate recorded."""
    client = MlflowClient()
    source = client.get_model_version(MODEL_NAME, "1").source
    tampered = mlflow.register_model(source, MODEL_NAME).version
    client.set_model_version_tag(MODEL_NAME, tampered, TAG_MODEL_DIGEST, "sha256:" + "0" * 64)
    frame(2, 8).to_csv(tmp_path / "rows.csv", index=False)

    code = main(["--model-uri", f"models:/{MODEL_NAME}/{tampered}", "--input",
                 str(tmp_path / "rows.csv"), "--output", str(tmp_path / "out.csv"),
                 "--log", str(tmp_path / "log")])

    assert code == 2
    assert "are not the ones the gate promoted" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "log").exists()
