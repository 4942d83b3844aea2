"""The MLServer runtime of local serving: MLServer's MLflow runtime plus a prediction log.

This module runs inside MLServer's own virtual environment (``.venv-mlserver``), never in
the platform's: it may import only the standard library, MLServer and mlserver-mlflow.
``mlops_platform.serving`` puts it on MLServer's path and names it in the model
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
            inputs = pd.DataFrame(self.decode_request(payload)).to_dict("records")
            outputs = [output.data.root for output in response.outputs]
            self._log_rows(inputs, _flatten(outputs[0]) if outputs else [])
        return response

    def _should_log(self) -> bool:
        return bool(self._log_path) and random.random() < self._sample_rate  # noqa: S311

    def _log_invocation(self, raw_body: str, content_type: str, response_body: bytes) -> None:
        if content_type.startswith("application/json"):
            rows = _rows_of(json.loads(raw_body))
        else:
            rows = pd.read_csv(StringIO(raw_body)).to_dict("records")
        self._log_rows(rows, json.loads(response_body)["predictions"])

    def _log_rows(self, rows: list[dict], predictions: list) -> None:
        # Plain dicts and json.dumps, not pandas: this runs on every sampled request, and
        # json.dumps keeps every digit (pandas' to_json rounds to 10).
        served_at = time.time()
        with_predictions = len(predictions) == len(rows)
        lines = []
        for index, row in enumerate(rows):
            line = dict(row)
            if with_predictions:
                line[PREDICTION_COLUMN] = _scalar(predictions[index])
            line[TIMESTAMP_COLUMN] = served_at
            lines.append(json.dumps(line, default=str) + "\n")
        # One O_APPEND write per request: lines of concurrent workers never interleave.
        try:
            fd = os.open(self._log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, "".join(lines).encode())
            finally:
                os.close(fd)
        except OSError as error:
            # A full disk must not fail predictions: the log is a sample anyway.
            logger.warning("prediction log %s not written: %s", self._log_path, error)


def _rows_of(payload: dict) -> list[dict]:
    """The request's rows as dicts, for each input format of MLflow's scoring protocol."""
    if "dataframe_records" in payload:
        return payload["dataframe_records"]
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        if not split.get("data"):
            return []
        columns = split.get("columns") or range(len(split["data"][0]))
        return [dict(zip(columns, row, strict=False)) for row in split["data"]]
    inputs = payload.get("inputs", payload.get("instances", []))
    if isinstance(inputs, dict):
        return pd.DataFrame(inputs).to_dict("records")
    return [row if isinstance(row, dict) else {"input": row} for row in inputs]


def _flatten(values: list) -> list:
    return [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values]


def _scalar(value: object) -> object:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    return value
