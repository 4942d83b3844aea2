"""Batch scoring: a table scored by a registered model, every row logged like a served one.

``mlops-score --model-uri models:/<name>@champion --input rows.csv --output scored.csv
--log monitoring/`` checks the table against the data contract the version was trained
under (``--contract``, else the version's run artifact ``data_contract.json``), predicts,
and writes ``scored.csv``: the rows with their ``prediction`` and ``prediction_id``. In a
cluster (the CronJob of a served model's ``batch``) the table is ``s3://<bucket>/<key>`` and
the output an ``s3://`` prefix ending in ``/``, under which each run writes
``scored-<UTC time>.csv``. The
same rows go to the prediction log (``--log``: a folder, or ``s3://<bucket>/monitoring/
<model>/served/`` in a cluster) in the format of ``mlops_platform.prediction_log``, serving
path ``batch``, so labels sent back for them join as they do for served predictions.

A table that breaks the contract is refused whole (exit 1), with one line per column, row
and rule, and nothing is written. Exit 2: the model, the table or the log location could
not be used; the message names it and the fix.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlops_platform import data_contract_rules as rules
from mlops_platform.contract import DATA_CONTRACT_ARTIFACT
from mlops_platform.prediction_log import (
    PREDICTION,
    PREDICTION_ID,
    Predictor,
    new_ids,
    prediction_lines,
)
from mlops_platform.prediction_store import (
    StoreError,
    append_predictions,
    delete_object,
    fetch_object,
    is_s3,
    put_object,
)
from mlops_platform.serving import ServingError, download_checked, registry_version

CONTRACT_BROKEN, UNUSABLE = 1, 2


class ScoringError(RuntimeError):
    """Something scoring needs cannot be used; the message names it and the fix."""


class ContractBrokenError(ScoringError):
    """The table breaks the data contract; the message lists where."""


@dataclass(frozen=True)
class Scored:
    rows: int
    output: str
    logged_to: str
    predictor: Predictor


def read_table(location: str) -> pd.DataFrame:
    """The rows of a CSV or Parquet file, local or ``s3://<bucket>/<key>``."""
    if is_s3(location):
        with tempfile.TemporaryDirectory(prefix="mlops-score-") as folder:
            return _read_file(fetch_object(location, Path(folder)))
    return _read_file(Path(location))


def _read_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ScoringError(f"no table {path}: give a CSV or Parquet file of rows to score")
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (ValueError, OSError) as error:
        raise ScoringError(f"{path} is not a readable CSV or Parquet table: {error}") from error


def output_location(output: str, now: float) -> str:
    """Where the scored rows go: ``output`` itself, or a file of this run under an ``s3://``
    prefix ending in ``/``."""
    if is_s3(output) and output.endswith("/"):
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        return f"{output}scored-{stamp}.csv"
    return output


def write_scored(scored: pd.DataFrame, output: str) -> None:
    if is_s3(output):
        put_object(output, scored.to_csv(index=False).encode())
        return
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(output, index=False)


def remove_scored(output: str) -> None:
    """Take back the scored rows of a run whose log could not be written (best effort: the
    log's error is the one the caller reports)."""
    with contextlib.suppress(StoreError, OSError):
        if is_s3(output):
            delete_object(output)
        else:
            Path(output).unlink()


def registered_version(model_uri: str) -> tuple[str, str, str | None]:
    """The registered name, version and training run id a ``models:/`` URI names now."""
    from mlflow.exceptions import MlflowException

    try:
        registered = registry_version(model_uri)
    except (MlflowException, ServingError, ValueError) as error:
        raise ScoringError(f"the registry cannot resolve {model_uri}: {error}") from error
    if registered is None:
        raise ScoringError(f"{model_uri} is no registry version: give models:/<name>@champion "
                           "or models:/<name>/<version>, so the log names the version that "
                           "scored")
    name, version, run = registered
    return name, version, run.info.run_id if run is not None else None


def promoted_files(name: str, version: str, folder: Path) -> Path:
    """The version's files, downloaded once and checked against the gate's digest as the
    serving pods check them: files changed since the promotion are refused."""
    try:
        return download_checked(f"models:/{name}/{version}", (name, version, None), folder,
                                "mlops-score: ")
    except ServingError as error:
        raise ScoringError(str(error)) from error


def load_contract(contract: Path | None, run_id: str | None) -> dict:
    """The data contract given, else the one the version's training run logged."""
    if contract is not None:
        import yaml

        return yaml.safe_load(contract.read_text())
    if run_id is None:
        raise ScoringError("the version has no training run to read its data contract from: "
                           "give --contract data_contract.yaml")
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    try:
        with tempfile.TemporaryDirectory(prefix="mlops-score-") as folder:
            path = download_artifacts(run_id=run_id, artifact_path=DATA_CONTRACT_ARTIFACT,
                                      dst_path=folder)
            return json.loads(Path(path).read_text())
    except (MlflowException, OSError) as error:
        raise ScoringError(f"run {run_id} logged no {DATA_CONTRACT_ARTIFACT} ({error}): "
                           "give --contract data_contract.yaml") from error


def checked_inputs(table: pd.DataFrame, contract: dict) -> pd.DataFrame:
    """The table's model inputs, once every row keeps the contract (extra columns dropped)."""
    try:
        columns = rules.input_columns(contract)
    except rules.ContractFileError as error:
        raise ScoringError(f"the data contract is unusable: {error}") from error
    violations = rules.check_frame(table, columns, extra="drop")
    if violations:
        raise ContractBrokenError(f"the table breaks the data contract in {len(violations)} "
                                  f"places; nothing was scored:\n{rules.describe(violations)}")
    return table[[column["name"] for column in columns]]


def score(model_uri: str, table: str, output: str, log: str,
          contract: Path | None = None) -> Scored:
    """Score ``table`` with the version ``model_uri`` names; write and log the rows."""
    import mlflow

    name, version, run_id = registered_version(model_uri)
    document = load_contract(contract, run_id)
    inputs = checked_inputs(read_table(table), document)
    predictor = Predictor(name, version, "batch", document.get("entity_key"))
    with tempfile.TemporaryDirectory(prefix="mlops-score-") as folder:
        model = mlflow.pyfunc.load_model(str(promoted_files(name, version, Path(folder))))
        predictions = pd.Series(model.predict(inputs)).tolist()
    ids, now = new_ids(len(inputs)), time.time()
    lines = prediction_lines(inputs.to_dict("records"), predictions, ids, predictor, now)
    written = output_location(output, now)
    write_scored(inputs.assign(**{PREDICTION: predictions, PREDICTION_ID: ids}), written)
    try:
        logged_to = append_predictions(log, lines)
    except StoreError:
        remove_scored(written)  # scored rows no label could join: not left behind
        raise
    return Scored(len(inputs), written, logged_to, predictor)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlops-score", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-uri", required=True,
                        help="the version to score with, e.g. models:/<name>@champion")
    parser.add_argument("--input", required=True,
                        help="CSV or Parquet rows: a file or s3://<bucket>/<key>")
    parser.add_argument("--output", required=True,
                        help="CSV written: the rows, their prediction and prediction_id (a "
                        "file, s3://<bucket>/<key>, or an s3:// prefix ending in / for a "
                        "scored-<UTC time>.csv of each run)")
    parser.add_argument("--log", required=True,
                        help="the prediction log location: a folder or s3://bucket/prefix/")
    parser.add_argument("--contract", type=Path, default=None,
                        help="data_contract.yaml (default: the version's logged contract)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        scored = score(args.model_uri, args.input, args.output, args.log, args.contract)
    except ContractBrokenError as error:
        print(f"mlops-score: {error}", file=sys.stderr)
        return CONTRACT_BROKEN
    except (ScoringError, StoreError) as error:
        print(f"mlops-score: {error}", file=sys.stderr)
        return UNUSABLE
    predictor = scored.predictor
    print(f"scored {scored.rows} rows with {predictor.model_name} version "
          f"{predictor.model_version}: {scored.output}; logged to {scored.logged_to}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
