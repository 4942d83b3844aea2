"""Predictions of a model's ONNX export with ONNX Runtime, from the frame the model takes.

The export (``onnx_export`` writes it so) has one input per column (numbers as float
tensors, text as string tensors, each of shape ``[rows, 1]``), or one float matrix input
``MATRIX_INPUT``; its metadata names the frame's columns in input order. Its first output
is the label, its second the class probabilities.

This module runs in MLServer's environment too (``serving`` copies it beside the runtime),
so it imports only numpy, pandas and onnxruntime.
"""

from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pandas as pd

MATRIX_INPUT = "matrix"
COLUMNS_METADATA = "mlops.columns"
DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64,
          "tensor(int64)": np.int64, "tensor(string)": object}


class OnnxPredictor:
    """One ONNX Runtime session; ``predict`` gives labels, ``predict_proba`` probabilities."""

    def __init__(self, model: str | bytes):
        options = onnxruntime.SessionOptions()
        # One thread: serving predicts one batch at a time and the event loop needs the other
        # core; ONNX Runtime's spinning thread pool would take it.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"])
        self._inputs = [(item.name, DTYPES[item.type]) for item in self._session.get_inputs()]
        self._outputs = [item.name for item in self._session.get_outputs()]
        # The frame's column names, in input order: ONNX input names cannot hold every name
        # a column can (skl2onnx turns "mean radius" into "mean_radius").
        metadata = self._session.get_modelmeta().custom_metadata_map
        self.columns: list[str] = json.loads(metadata[COLUMNS_METADATA])
        self._is_matrix = self._inputs[0][0] == MATRIX_INPUT

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self._session.run(self._outputs[:1], self._feeds(frame))[0]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self._session.run(self._outputs[1:2], self._feeds(frame))[0]

    def _feeds(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        missing = [name for name in self.columns if name not in frame.columns]
        if missing:
            raise KeyError(f"the model needs the columns {missing}, which the request lacks")
        if self._is_matrix:
            return {MATRIX_INPUT: frame[self.columns].to_numpy(dtype=np.float32)}
        return {name: frame[column].to_numpy().astype(dtype).reshape(-1, 1)
                for (name, dtype), column in zip(self._inputs, self.columns, strict=True)}
