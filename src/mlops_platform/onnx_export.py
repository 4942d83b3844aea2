"""The compiled serving path: a scikit-learn model exported to ONNX and checked equal to it.

A project's evaluate stage calls ``choose_serving_path`` with the trained model and its test
features. skl2onnx converts the model; ONNX Runtime and scikit-learn then predict every test
row. Only an export whose labels equal the model's on every row, and whose probabilities
differ by at most ``PROBABILITY_TOLERANCE``, is logged to the run (``ONNX_ARTIFACT``), and
the run is tagged to be served by ONNX Runtime. Otherwise (a mismatch, or a model skl2onnx
cannot convert) the run's tags say why, and serving uses the model's MLflow flavor.

The tolerance: ONNX Runtime computes in float32, scikit-learn in float64, so probabilities
differ around the 7th decimal; 1e-4 leaves room for that and none for a different model.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops_platform import contract
from mlops_platform.onnx_predictor import COLUMNS_METADATA, MATRIX_INPUT, OnnxPredictor

PROBABILITY_TOLERANCE = 1e-4
# The opsets ONNX Runtime 1.20+ (the serving image's) runs; pinned so an export made with a
# newer skl2onnx still loads where it is served.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


@dataclass(frozen=True)
class ExportCheck:
    rows: int
    label_mismatches: int
    max_probability_difference: float

    @property
    def passed(self) -> bool:
        return self.label_mismatches == 0 and \
            self.max_probability_difference <= PROBABILITY_TOLERANCE

    def describe(self) -> str:
        return (f"checked on {self.rows} test rows: {self.label_mismatches} labels differ, "
                f"largest probability difference {self.max_probability_difference:.1e} "
                f"(tolerance {PROBABILITY_TOLERANCE:g})")


@dataclass(frozen=True)
class ServingPath:
    path: str  # contract.SERVING_PATH_ONNX or contract.SERVING_PATH_MLFLOW
    reason: str
    onnx: bytes | None = None

    def describe(self) -> str:
        engine = "ONNX Runtime (the model's ONNX export)" \
            if self.path == contract.SERVING_PATH_ONNX else "the model's MLflow flavor"
        return f"{engine}: {self.reason}"


def convert(model: Any, example: pd.DataFrame) -> bytes:
    """The ONNX export: one input per column (numbers as float, text as string), or, for a
    model that takes only numbers as one matrix (a bare estimator), one float matrix input."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    numeric = [pd.api.types.is_numeric_dtype(dtype) for dtype in example.dtypes]
    per_column = [(str(name), FloatTensorType([None, 1]) if is_number
                   else StringTensorType([None, 1]))
                  for name, is_number in zip(example.columns, numeric, strict=True)]
    try:
        exported = convert_sklearn(model, initial_types=per_column, options={"zipmap": False},
                                   target_opset=TARGET_OPSET)
    except RuntimeError:
        if not all(numeric):
            raise
        matrix = [(MATRIX_INPUT, FloatTensorType([None, len(example.columns)]))]
        exported = convert_sklearn(model, initial_types=matrix, options={"zipmap": False},
                                   target_opset=TARGET_OPSET)
    exported.metadata_props.add(key=COLUMNS_METADATA, value=json.dumps(list(example.columns)))
    return exported.SerializeToString()


def check(model: Any, onnx: bytes, features: pd.DataFrame) -> ExportCheck:
    """The export's predictions beside the model's, on ``features``."""
    predictor = OnnxPredictor(onnx)
    labels = predictor.predict(features).ravel()
    expected = np.asarray(model.predict(features)).ravel()
    mismatches = int((labels.astype(str) != expected.astype(str)).sum())
    difference = float(np.abs(predictor.predict_proba(features)
                              - model.predict_proba(features)).max())
    return ExportCheck(len(features), mismatches, difference)


def choose_serving_path(model: Any, features: pd.DataFrame) -> ServingPath:
    """ONNX Runtime when the export converts and predicts as the model does, else MLflow.

    The compiled path is an optimisation: whatever stops it (a model skl2onnx cannot
    convert, an export ONNX Runtime cannot run) leaves the MLflow flavor serving, with the
    reason on record, and never fails the pipeline.
    """
    try:
        onnx = convert(model, features.head(1))
    except Exception as error:  # see the docstring: the reason is recorded
        return ServingPath(contract.SERVING_PATH_MLFLOW,
                           f"skl2onnx cannot convert the model ({_first_line(error)})")
    try:
        result = check(model, onnx, features)
    except Exception as error:  # see the docstring: the reason is recorded
        return ServingPath(contract.SERVING_PATH_MLFLOW,
                           f"ONNX Runtime cannot run the export ({_first_line(error)})")
    if not result.passed:
        return ServingPath(contract.SERVING_PATH_MLFLOW, f"the ONNX export was refused, "
                           f"{result.describe()}")
    return ServingPath(contract.SERVING_PATH_ONNX, f"the export was {result.describe()}", onnx)


def log_serving_path(path: ServingPath) -> None:
    """Log the export (if any) and the serving path to the active MLflow run."""
    import mlflow

    if path.onnx is not None:
        with tempfile.TemporaryDirectory(prefix="onnx-") as folder:
            local = Path(folder) / Path(contract.ONNX_ARTIFACT).name
            local.write_bytes(path.onnx)
            mlflow.log_artifact(str(local), str(Path(contract.ONNX_ARTIFACT).parent))
    mlflow.set_tags({contract.TAG_SERVING_PATH: path.path,
                     contract.TAG_SERVING_PATH_REASON: path.reason})


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
