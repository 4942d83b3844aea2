"""The MLServer runtime of local serving: MLServer's MLflow runtime plus a prediction log.

This module runs inside MLServer's own virtual environment (``.venv-mlserver``), never in
the platform's: it may import only the standard library, MLServer and mlserver-mlflow.
``infra.local_platform.serving`` puts it on MLServer's path and names it in the model
settings; its ``extra`` parameters say where to log and how often.

Every served request is logged with probability ``sample_rate`` as one JSON line per row:
the input columns and the model's ``prediction``. That file is the current data that
``mlops-drift`` compares with the training reference.
"""

from __future__ import annotations

import json
import os
import random
import time
from io import StringIO

import pandas as pd
from fastapi import Depends, Header, Response
from mlflow.exceptions import MlflowException
from mlserver.errors import InferenceError
from mlserver.handlers import custom_handler
from mlserver.logging import logger
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver_mlflow.runtime import MLflowRuntime, _get_raw_body

PREDICTION_COLUMN = "prediction"
TIMESTAMP_COLUMN = "served_at"


class LoggingMLflowRuntime(MLflowRuntime):
    """MLflow runtime whose bad inputs are 400s naming the problem and whose traffic is logged."""

    async def load(self) -> bool:
        loaded = await super().load()
        extra = (self._settings.parameters.extra or {}) if self._settings.parameters else {}
        self._log_path = extra.get("prediction_log")
        self._sample_rate = float(extra.get("sample_rate", 1.0))
        return loaded

    @custom_handler(rest_path="/invocations")
    async def invocations(
        self,
        raw_body: str = Depends(_get_raw_body),
        content_type: str = Header(default=""),
    ) -> Response:
        try:
            response = await super().invocations(raw_body, content_type)
        except MlflowException as error:
            raise InferenceError(error.message) from error
        except (ValueError, TypeError, KeyError) as error:
            # Payloads MLflow cannot parse (a string in a double column, ragged JSON)
            # surface as plain exceptions; they are the client's fault, hence 400.
            raise InferenceError(f"invalid payload: {error}") from error
        if self._should_log():
            self._log_invocation(raw_body, content_type, response.body)
        return response

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        try:
            response = await super().predict(payload)
        except MlflowException as error:
            raise InferenceError(error.message) from error
        if self._should_log():
            inputs = self.decode_request(payload)
            outputs = [output.data.root for output in response.outputs]
            self._log_rows(pd.DataFrame(inputs), _flatten(outputs[0]) if outputs else [])
        return response

    def _should_log(self) -> bool:
        return bool(self._log_path) and random.random() < self._sample_rate  # noqa: S311

    def _log_invocation(self, raw_body: str, content_type: str, response_body: bytes) -> None:
        payload = json.loads(raw_body) if content_type.startswith("application/json") else None
        inputs = pd.read_csv(StringIO(raw_body)) if payload is None else _frame_of(payload)
        predictions = json.loads(response_body)["predictions"]
        self._log_rows(inputs, predictions)

    def _log_rows(self, inputs: pd.DataFrame, predictions: list) -> None:
        inputs = inputs.reset_index(drop=True).copy()
        if len(predictions) == len(inputs):
            inputs[PREDICTION_COLUMN] = [_scalar(p) for p in predictions]
        inputs[TIMESTAMP_COLUMN] = time.time()
        # json.dumps keeps every digit (pandas' to_json rounds to 10): drift sees the real values.
        lines = "".join(json.dumps(row, default=str) + "\n" for row in inputs.to_dict("records"))
        # One O_APPEND write per request: lines of concurrent workers never interleave.
        try:
            fd = os.open(self._log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, lines.encode())
            finally:
                os.close(fd)
        except OSError as error:
            # A full disk must not fail predictions: the log is a sample anyway.
            logger.warning("prediction log %s not written: %s", self._log_path, error)


def _frame_of(payload: dict) -> pd.DataFrame:
    if "dataframe_records" in payload:
        return pd.DataFrame.from_records(payload["dataframe_records"])
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        return pd.DataFrame(split["data"], columns=split.get("columns"))
    if "inputs" in payload and isinstance(payload["inputs"], dict):
        return pd.DataFrame(payload["inputs"])
    return pd.DataFrame(payload.get("inputs") or payload.get("instances") or [])


def _flatten(values: list) -> list:
    return [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values]


def _scalar(value: object) -> object:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    return value
