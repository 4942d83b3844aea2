"""The MLServer runtime of local serving: MLServer's MLflow runtime, checked at the door, logged.

This module runs inside MLServer's own virtual environment (``.venv-mlserver``, the serving
image), never in the platform's: of the platform package only ``mlops_platform`` itself is on
MLServer's path there (without its dependencies), so it may import only the standard
library, pandas and numpy, MLServer, mlserver-mlflow, the package's
``data_contract_rules``, ``prediction_log``, ``traffic_split``, ``model_digest`` and
``online_features`` (with aiohttp, MLServer's own dependency),
onnxruntime with ``onnx_predictor`` when an ONNX export is served, and prometheus_client with
``monitoring.catalog`` and ``monitoring.metric_collectors`` when metrics are on.
``mlops_platform.serving`` puts the package on MLServer's path and names this runtime
(``mlops_platform.serving_runtime.LoggingMLflowRuntime``) in the model settings; it also
writes every setting below, with the defaults it documents.

Model settings ``parameters.extra`` (a key left out switches its feature off):

- ``contract``: the data contract as JSON, compiled once at load. Each request is checked
  against it before the model sees it; a break is a 422 with one line per column, row and
  rule.
- ``extra_columns``: ``reject`` (a 422) or ``drop`` (removed before predicting).
- ``max_rows``: rows per request; more is a 413.
- ``prediction_log``, ``sample_rate``: every served request is logged with probability
  ``sample_rate`` as one JSON line per row in the format of ``mlops_platform.prediction_log``:
  the input columns, the ``prediction``, the row's
  ``prediction_id``, the model's name and version, the serving path, ``served_at`` and, where
  the contract names an ``entity_key`` column, its value. That file is the current data
  ``mlops-drift`` compares with the reference, and what labels join by id.
- ``log_max_bytes``, ``log_backups``: the log rotates when a write would take it past
  ``log_max_bytes``: ``predictions.jsonl`` becomes ``predictions.jsonl.1`` (``.1`` becomes
  ``.2``, ...) and at most ``log_backups`` rotated files are kept.
- ``onnx``: the path of the model's ONNX export (checked equal to it at registration):
  ``/invocations`` then predicts with ONNX Runtime (``mlops_platform.onnx_predictor``); the
  V2 endpoint keeps the MLflow model.
- ``batch_rows``: ``/invocations`` requests that arrive while the model is busy are
  predicted together in its next call, up to this many rows (0 or 1: every request alone).
- ``metrics``: ``{"model": name, "version": version, "trained_at": Unix time}``, the served
  version's labels and its training run's end: every request of both routes is then counted
  on MLServer's metrics endpoint (``ServedMetrics``; the names, kinds and buckets come from
  ``mlops_platform.monitoring.catalog``, the collectors from its ``metric_collectors``).
  For a ``models:/`` URI the version an alias names and its
  training end replace the labels'.
- ``metrics_port`` (and ``metrics_host``, default ``127.0.0.1``): this process serves them at
  ``/metrics`` there, with MLServer's own ``metrics_endpoint`` off (one process, no parallel
  workers: MLServer's endpoint adds its REST middleware to every request). Without it,
  MLServer's endpoint must be on for them to be seen; with parallel workers each process
  writes to MLServer's multiprocess directory.
- ``model_digest_tag``: for a ``models:/`` URI, the version's files are downloaded and their
  digest (``mlops_platform.model_digest``) compared with the
  one the promotion gate recorded in this version tag before the model loads; a mismatch
  stops the load (a cluster's pod never becomes ready), a version without the tag is loaded
  unchecked and logged.
- ``contract_artifact``: without ``contract``, the data contract is read from this artifact
  of the served version's training run (a cluster's pods: the template logs it at training).
- ``ab_test``: ``{"uri": ..., "weight": ..., "salt": ..., "version": ..., "onnx": ...}``, a
  challenger served beside the model (an A/B test or a canary). Each row of a table request
  to ``/invocations`` goes to the challenger with probability ``weight``, fixed by the row's
  entity key (``mlops_platform.traffic_split``; ``salt``
  names the test); the rows of each arm are predicted by its own model (loaded from ``uri``,
  or its ONNX export ``onnx``), answered in the request's order, logged with their ``arm``
  and the version that answered (``version``, else resolved from a ``models:/`` URI), and
  counted by arm. Both arms keep the model's data contract. Other requests (``inputs``,
  ``params``, the V2 route) are answered by the model alone and logged without an arm: they
  are not part of the test.

- ``online_features``: ``{"url", "feature_service", "entity_key"}``, a project's Feast
  feature server: a JSON table request to ``/invocations`` or ``/explain`` whose rows carry
  only the entity key gets their features from it (``mlops_platform.online_features``) and is
  then served as if it had sent them; a key the online store does not hold is a 400 naming it,
  a feature server that does not answer a 503.
Every row answered gets a prediction id, logged or not: ``/invocations`` answers
``{"predictions": [...], "prediction_ids": [...]}`` (MLflow's own ``metadata`` beside the
predictions; a type MLflow's handler answers gets none), the V2 route puts them in the
response's ``parameters.prediction_ids``.

Whatever the settings, ``/invocations`` refuses a request with no rows (400), a column given
twice (422) and JSON nested deeper than ``MAX_JSON_DEPTH`` levels (400, checked before parsing:
Python's parser recurses, and its RecursionError would be a 500).

Environment: ``MLOPS_SERVE_MAX_BODY_BYTES`` bounds the body of ``/invocations`` (a 413
beyond it, read no further). It is an environment variable because the body is read in
MLServer's main process, before any parallel worker's copy of the model has its settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import gc
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi import Depends, Header, Request, Response
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.scoring_server import (
    _split_data_and_params,
    infer_and_parse_data,
    parse_csv_input,
    predictions_to_json,
)
from mlserver.errors import InferenceError, MLServerError
from mlserver.handlers import custom_handler
from mlserver.logging import logger
from mlserver.types import InferenceRequest, InferenceResponse, Parameters
from mlserver_mlflow.runtime import MLflowRuntime

from mlops_platform import data_contract_rules as rules
from mlops_platform import explanations, prediction_log, traffic_split
from mlops_platform.online_features import (
    FeatureServerError,
    MissingFeaturesError,
    OnlineFeatures,
)

MAX_BODY_ENV = "MLOPS_SERVE_MAX_BODY_BYTES"
JSON_TYPE, CSV_TYPE = "application/json", "text/csv"
# Tables and tensors nest a few levels; anything deeper is no model input.
MAX_JSON_DEPTH = 32
LOOPBACK = "127.0.0.1"  # where the runtime serves its metrics unless told (a pod: every address)


class PayloadTooLargeError(MLServerError):
    def __init__(self, msg: str):
        super().__init__(msg, status_code=413)


class ContractBrokenError(MLServerError):
    def __init__(self, msg: str, rule: str):
        super().__init__(msg, status_code=422)
        self.rule = rule  # the first rule broken: the one the metrics count


class DuplicateColumnError(ContractBrokenError):
    def __init__(self, name: object):
        super().__init__(f"column {str(name)!r} is given more than once in the request: "
                         "send each column once", "duplicate")


def _refuse_duplicates(names: list) -> None:
    if len(set(names)) != len(names):
        raise DuplicateColumnError(next(n for n, count in Counter(names).items() if count > 1))


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as a dict, refused when a key repeats (json.loads keeps the last)."""
    row = dict(pairs)
    if len(row) != len(pairs):
        _refuse_duplicates([key for key, _ in pairs])
    return row


# Only quotes and brackets matter to the depth: every other byte is dropped at once.
_NOT_MARKS = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_DEPTH_STEP = np.zeros(256, np.int64)
_DEPTH_STEP[list(b"[{")], _DEPTH_STEP[list(b"]}")] = 1, -1


def _bounded_depth(body: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH, before any parser recurses into it."""
    if body.count("[") + body.count("{") <= MAX_JSON_DEPTH:  # every table of a few rows
        return
    if "\\" in body:  # escaped backslashes and quotes are no string ends
        body = body.replace("\\\\", "").replace('\\"', "")
    marks = np.frombuffer(body.encode().translate(None, _NOT_MARKS), np.uint8)
    outside_strings = np.cumsum(marks == ord('"')) % 2 == 0
    depth = int(np.cumsum(_DEPTH_STEP[marks] * outside_strings).max(initial=0))
    if depth > MAX_JSON_DEPTH:
        raise InferenceError(
            f"the JSON body nests {depth} levels deep, over the limit of {MAX_JSON_DEPTH}: "
            "send rows as dataframe_records or dataframe_split"
        )


async def _bounded_body(request: Request) -> str:
    """The request body, refused with a 413 as soon as it passes the limit."""
    limit = int(os.environ.get(MAX_BODY_ENV) or 0)
    declared = request.headers.get("content-length", "")
    if limit and declared.isdigit() and int(declared) > limit:
        raise _body_too_large(int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if limit and size > limit:
            raise _body_too_large(size, limit)
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InferenceError(f"the body is not UTF-8: {error}") from error


@dataclass(frozen=True)
class RequestBody:
    """An ``/invocations`` body as MLServer's main process read it, for the handler (in a
    parallel worker when there are some): its text, when it arrived, and the refusal the
    handler raises instead of answering, so the refusal is counted with the model's requests.
    """

    text: str
    arrived: float  # time.perf_counter(): CLOCK_MONOTONIC, one clock for every process
    refusal: MLServerError | None = None


async def _read_body(request: Request) -> RequestBody:
    arrived = time.perf_counter()
    try:
        return RequestBody(await _bounded_body(request), arrived)
    except MLServerError as refusal:
        return RequestBody("", arrived, refusal)


def _body_too_large(size: int, limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"request body of {size} bytes or more is over the limit of {limit} bytes: "
        "send fewer rows per request (or serve with a larger --max-body-mb)"
    )


class LoggingMLflowRuntime(MLflowRuntime):
    """MLflow runtime whose inputs keep the data contract and whose traffic is logged."""

    async def load(self) -> bool:
        extra = (self._settings.parameters.extra or {}) if self._settings.parameters else {}
        uri = self._settings.parameters.uri if self._settings.parameters else None
        if extra.get("model_digest_tag") and (uri or "").startswith("models:/"):
            # MLflow's runtime then loads exactly the files that were checked, and the labels
            # below name their version, however the alias moves meanwhile.
            self._settings.parameters.uri, uri = _promoted_files(uri, extra["model_digest_tag"])
        loaded = await super().load()
        self._log_path = extra.get("prediction_log")
        self._sample_rate = float(extra.get("sample_rate", 1.0))
        self._log_max_bytes = int(extra.get("log_max_bytes") or 0)
        self._log_backups = int(extra.get("log_backups") or 0)
        self._max_rows = int(extra.get("max_rows") or 0)
        self._extra_columns = extra.get("extra_columns", "reject")
        served = _served_version(uri) if (
            extra.get("contract_artifact") or extra.get("metrics") or self._log_path) else None
        self._columns, self._contract, entity_key, self._target = None, None, None, None
        contract = extra.get("contract") or _run_contract(served, extra.get("contract_artifact"))
        if contract:
            with open(contract) as handle:
                document = json.load(handle)
            self._columns = rules.input_columns(document)
            self._contract = rules.CompiledContract(self._columns, self._extra_columns)
            entity_key = document.get("entity_key")
            self._target = _target_column(document)
        self._logged_as = _predictors(extra, uri, served, entity_key)
        self._metrics = ServedMetrics(_registered_labels(extra["metrics"], served),
                                      onnx=bool(extra.get("onnx"))) \
            if extra.get("metrics") else UNMEASURED
        if extra.get("metrics_port"):
            _serve_metrics(str(extra.get("metrics_host", LOOPBACK)), int(extra["metrics_port"]))
        self._batcher = BusyTimeBatcher(self._predictor(extra), int(extra.get("batch_rows") or 1),
                                        on_call=self._metrics.model_call)
        self._ab_test = ABTest.load(extra["ab_test"], self._logged_as[0], extra, self._metrics) \
            if extra.get("ab_test") else None
        self._online_features = OnlineFeatures.from_setting(extra["online_features"]) \
            if extra.get("online_features") else None
        # What is alive now (MLServer, the model, pandas) lives as long as the server: frozen,
        # the collector stops scanning it at every collection, which the many small objects
        # of a prediction trigger (measured: 1.5 ms of a 1-row request's p50).
        gc.freeze()
        return loaded

    def _predictor(self, extra: dict) -> Callable[[pd.DataFrame], object]:
        """What ``/invocations`` predicts with: the ONNX export if given, else the MLflow model."""
        return _onnx_predict(extra["onnx"]) if extra.get("onnx") else self._model.predict

    @custom_handler(rest_path="/invocations")
    async def invocations(
        self,
        # Not Annotated[...]: with parallel workers FastAPI reads this signature through
        # MLServer's wrapper, whose module cannot resolve the annotation's names.
        body: RequestBody = Depends(_read_body),  # noqa: B008
        content_type: str = Header(default=""),
    ) -> Response:
        with self._metrics.invocations(body.arrived) as measured:
            if body.refusal is not None:
                raise body.refusal
            response, measured.rows = await self._answer(body.text, content_type)
        return response

    async def _answer(self, raw_body: str, content_type: str) -> tuple[Response, int]:
        """The answer to an ``/invocations`` request and its rows (0 when MLflow parsed it)."""
        mime_type, _, parameters = (part.strip().lower() for part in content_type.partition(";"))
        if mime_type not in (JSON_TYPE, CSV_TYPE) or parameters not in ("", "charset=utf-8"):
            # Other types and charsets: MLflow's own handler answers (and names what it takes).
            if mime_type != CSV_TYPE:
                _bounded_depth(raw_body)
            return await self._invocations_by_mlflow(raw_body, content_type), 0
        raw_body = await self._with_online_features(raw_body, mime_type)
        rows, frame, raw_body = self._admitted(raw_body, mime_type)
        to_challenger = None
        with _client_errors():
            if frame is not None and self._ab_test is not None:
                to_challenger = self._ab_test.assign(rows, self._logged_as[0].entity_key_column)
                predictions = await self._ab_test.predict(frame, to_challenger, self._batcher)
            elif frame is not None:
                predictions = await self._batcher.predict(frame)
            else:
                data, params = self._parsed(raw_body, mime_type)
                predictions = self._model.predict(data, params=params)
        ids = prediction_log.new_ids(len(rows))
        result = StringIO()
        predictions_to_json(predictions, result, metadata={prediction_log.RESPONSE_IDS: ids})
        body = result.getvalue()
        if self._should_log():
            answered = json.loads(body)["predictions"]
            if to_challenger is None:
                self._log_rows(rows, answered, ids, self._logged_as[0])
            else:
                for arm, predictor in zip((False, True), self._ab_test.arms, strict=True):
                    chosen = [index for index, flag in enumerate(to_challenger) if flag == arm]
                    self._log_rows([rows[i] for i in chosen], [answered[i] for i in chosen],
                                   [ids[i] for i in chosen], predictor)
        return Response(content=body, media_type=JSON_TYPE), len(rows)

    @custom_handler(rest_path="/labels")
    async def labels(
        self,
        body: RequestBody = Depends(_read_body),  # noqa: B008
    ) -> Response:
        """Outcomes sent back by prediction id: ``{"labels": [{"prediction_id": ..., "label":
        ...}]}``. Each label must keep the contract's rule for the target column; all are
        appended to ``labels/labels.jsonl`` beside the prediction log, or none (a 422 naming
        the rows). Ids are joined later, where the whole log is: an unknown, late or repeated id
        is answered by ``mlops-labels`` and the performance check, never joined."""
        if body.refusal is not None:
            raise body.refusal
        if not self._log_path:
            raise InferenceError("labels are not kept: this server has no prediction log "
                                 "(serve with a log folder)")
        received = _labels_of(body.text)
        _check_labels(received, self._target)
        path = prediction_log.labels_path(self._log_path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._append(prediction_log.label_lines(received, time.time()), path)
        return Response(content=json.dumps({"accepted": len(received)}), media_type=JSON_TYPE)

    @custom_handler(rest_path="/explain")
    async def explain(
        self,
        body: RequestBody = Depends(_read_body),  # noqa: B008
    ) -> Response:
        """Each row of a table request (as ``/invocations`` takes it, checked against the
        contract alike) explained by the served MLflow model: ``{"explanations": [{"class",
        "base_value", "value", "contributions": [{"feature", "contribution"}], "others"}]}``,
        the five largest contributions and the sum of the rest, with ``base_value +
        contributions + others == value`` (mlops_platform.explanations). A model it cannot
        explain is a 400 naming why."""
        if body.refusal is not None:
            raise body.refusal
        text = await self._with_online_features(body.text, JSON_TYPE)
        _, frame, _ = self._admitted(text, JSON_TYPE)
        if frame is None:
            raise InferenceError("explain takes a table: dataframe_records or dataframe_split "
                                 "with columns, and no params")
        try:
            found = explanations.explain(self._model.get_raw_model(), frame)
        except (explanations.ExplanationError, NotImplementedError) as error:
            raise InferenceError(f"this model cannot be explained: {error}") from error
        return Response(content=json.dumps({"explanations": found}), media_type=JSON_TYPE)

    async def _invocations_by_mlflow(self, raw_body: str, content_type: str) -> Response:
        with _client_errors():
            return await super().invocations(raw_body, content_type)

    def _parsed(self, raw_body: str, mime_type: str):
        """The model input and params, as MLflow's scoring server parses them."""
        if mime_type == CSV_TYPE:
            return parse_csv_input(csv_input=StringIO(raw_body), schema=self._input_schema), None
        raw_data, params = _split_data_and_params(raw_body)
        return infer_and_parse_data(raw_data, self._input_schema), params

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        with self._metrics.infer(time.perf_counter()) as measured:
            response, frame = await self._inferred(payload)
            measured.rows = len(frame)
        return response

    async def _inferred(self, payload: InferenceRequest) -> tuple[InferenceResponse, pd.DataFrame]:
        _refuse_duplicates([tensor.name for tensor in payload.inputs])
        frame = pd.DataFrame(self.decode_request(payload))
        dropped = self._check(frame)
        if dropped:
            payload.inputs = [tensor for tensor in payload.inputs if tensor.name not in dropped]
            frame = frame.drop(columns=dropped)
        try:
            response = await super().predict(payload)
        except MlflowException as error:
            raise InferenceError(error.message) from error
        ids = prediction_log.new_ids(len(frame))
        response.parameters = response.parameters or Parameters()
        setattr(response.parameters, prediction_log.RESPONSE_IDS, ids)
        if self._should_log():
            outputs = [output.data.root for output in response.outputs]
            self._log_rows(frame.to_dict("records"), _flatten(outputs[0]) if outputs else [],
                           ids, self._logged_as[1])
        return response, frame

    # --- the door ----------------------------------------------------------------------------

    async def _with_online_features(self, raw_body: str, mime_type: str) -> str:
        """A JSON table of entity keys alone, completed with their online features; any other
        body as it came (``_admitted`` judges it)."""
        if self._online_features is None or mime_type != JSON_TYPE:
            return raw_body
        try:
            _bounded_depth(raw_body)
            payload = json.loads(raw_body, object_pairs_hook=_unique_keys)
            keys = self._online_features.keys_only(_rows_of(payload)) \
                if _is_table(payload) else None
        except (ValueError, TypeError, KeyError, AttributeError):
            return raw_body
        if keys is None:
            return raw_body
        try:
            rows = await self._online_features.fetch(keys)
        except MissingFeaturesError as error:
            raise InferenceError(str(error)) from error
        except FeatureServerError as error:
            raise MLServerError(f"online features unavailable: {error}", status_code=503) \
                from error
        return json.dumps({"dataframe_records": rows})


    def _admitted(
        self, raw_body: str, mime_type: str
    ) -> tuple[list[dict], pd.DataFrame | None, str]:
        """The request's rows, checked, and what to predict on (extra columns dropped).

        A table (CSV, ``dataframe_records``, ``dataframe_split`` with columns) without
        params comes back as the frame the model predicts on: the model's own schema
        enforcement converts its types, so MLflow's parser (3-4 ms for one row) is skipped.
        Anything else comes back as the body for MLflow's parser, with no frame.
        """
        payload = None
        try:
            if mime_type == JSON_TYPE:
                _bounded_depth(raw_body)
                payload = json.loads(raw_body, object_pairs_hook=_unique_keys)
                rows = _rows_of(payload)
                frame = rules.frame_of_records(rows)
            else:
                _refuse_duplicates(next(csv.reader(StringIO(raw_body)), []))
                frame = pd.read_csv(StringIO(raw_body))
                rows = frame.to_dict("records")
        except (ValueError, TypeError, KeyError, AttributeError, csv.Error) as error:
            raise InferenceError(f"invalid payload: {error}") from error
        dropped = self._check(frame)
        if dropped:
            rows = [{k: v for k, v in row.items() if k not in dropped} for row in rows]
            frame = frame.drop(columns=dropped)
        if payload is None or _is_table(payload):
            return rows, frame, raw_body
        if not dropped:
            return rows, None, raw_body
        body = {"dataframe_records": rows}
        if isinstance(payload, dict) and "params" in payload:
            body["params"] = payload["params"]
        return rows, None, json.dumps(body)

    def _check(self, frame: pd.DataFrame) -> list[str]:
        """Refuse no rows (400), too many (413) and contract breaks (422); the columns to drop."""
        if frame.shape[0] == 0:
            raise InferenceError("the request has no rows: send at least one row to predict")
        if self._max_rows and len(frame) > self._max_rows:
            raise PayloadTooLargeError(
                f"{len(frame)} rows are over the limit of {self._max_rows} rows per request: "
                "split the request (or serve with a larger --max-rows)"
            )
        if self._contract is None:
            return []
        violations = self._contract.check(frame)
        if violations:
            raise ContractBrokenError(
                f"the request breaks the data contract in {len(violations)} places:\n"
                + rules.describe(violations), violations[0].rule
            )
        return rules.extra_columns(frame, self._columns) if self._extra_columns == "drop" else []

    # --- the prediction log ------------------------------------------------------------------

    def _should_log(self) -> bool:
        return bool(self._log_path) and random.random() < self._sample_rate  # noqa: S311

    def _log_rows(self, rows: list[dict], predictions: list, ids: list[str],
                  predictor: prediction_log.Predictor) -> None:
        # Plain dicts and json.dumps, not pandas: this runs on every sampled request, and
        # json.dumps keeps every digit (pandas' to_json rounds to 10).
        lines = prediction_log.prediction_lines(
            rows, [_scalar(value) for value in predictions], ids, predictor, time.time())
        try:
            self._append(lines)
        except OSError as error:
            # A full disk must not fail predictions: the log is a sample anyway.
            logger.warning("prediction log %s not written: %s", self._log_path, error)

    def _append(self, data: bytes, path: str | None = None) -> None:
        # One locked O_APPEND write per request: the lines of concurrent workers never
        # interleave, and only one of them rotates. Labels are few and never rotated away.
        if path is None:
            prediction_log.append(self._log_path, data, self._log_max_bytes, self._log_backups)
        else:
            prediction_log.append(path, data)


class ABTest:
    """The challenger of an A/B test: which rows it answers, its model, and its own batcher."""

    def __init__(self, split: traffic_split.Split,
                 arms: tuple[prediction_log.Predictor, prediction_log.Predictor],
                 batcher: BusyTimeBatcher, metrics: ServedMetrics | Unmeasured):
        self.split, self.arms, self._batcher = split, arms, batcher
        self._count, self._measure = metrics.ab_rows(arms), metrics.ab_predictions(arms)

    @classmethod
    def load(cls, setting: dict, champion: prediction_log.Predictor, extra: dict,
             metrics: ServedMetrics | Unmeasured) -> ABTest:
        split = traffic_split.Split(float(setting["weight"]), str(setting["salt"]))
        if setting.get("onnx"):
            predict, path = _onnx_predict(setting["onnx"]), "onnx"
        else:
            import mlflow.pyfunc

            predict, path = mlflow.pyfunc.load_model(setting["uri"]).predict, "mlflow"
        version = setting.get("version") or _version_of(setting["uri"])
        arms = (replace(champion, arm=prediction_log.CHAMPION_ARM),
                replace(champion, model_version=str(version), serving_path=path,
                                    arm=prediction_log.CHALLENGER_ARM))
        batcher = BusyTimeBatcher(predict, int(extra.get("batch_rows") or 1),
                                  on_call=metrics.model_call)
        return cls(split, arms, batcher, metrics)

    def assign(self, rows: list[dict], entity_key: str | None) -> list[bool]:
        """Whether the challenger answers each row, by its entity key where the contract has one."""
        keys = [row.get(entity_key) for row in rows] if entity_key else [None] * len(rows)
        to_challenger = self.split.to_challenger(keys)
        self._count(len(rows) - sum(to_challenger), sum(to_challenger))
        return to_challenger

    async def predict(self, frame: pd.DataFrame, to_challenger: list[bool],
                      champion: BusyTimeBatcher) -> object:
        """Each arm's rows predicted by its model, the answers put back in the rows' order."""
        mask = np.asarray(to_challenger, dtype=bool)
        if not mask.any():
            return await self._timed(0, champion, frame)
        if mask.all():
            return await self._timed(1, self._batcher, frame)
        champion_rows, challenger_rows = np.flatnonzero(~mask), np.flatnonzero(mask)
        parts = await asyncio.gather(
            self._timed(0, champion, frame.iloc[champion_rows].reset_index(drop=True)),
            self._timed(1, self._batcher, frame.iloc[challenger_rows].reset_index(drop=True)))
        return _in_row_order(parts, np.concatenate([champion_rows, challenger_rows]))

    async def _timed(self, arm: int, batcher: BusyTimeBatcher, frame: pd.DataFrame) -> object:
        """One arm's prediction, its time and outcome counted under the arm (0: champion)."""
        started = time.perf_counter()
        try:
            predictions = await batcher.predict(frame)
        except Exception:
            self._measure(arm, time.perf_counter() - started, failed=True)
            raise
        self._measure(arm, time.perf_counter() - started, failed=False)
        return predictions


class BusyTimeBatcher:
    """One model call for the requests that arrive while the model is busy; none waits.

    MLServer's adaptive batching holds every batch open for ``max_batch_time``, so a lone
    request pays that wait on top of the model's cost. Here a request that finds the
    model idle is predicted at once; requests that arrive during a prediction queue up and
    share the next call, up to ``batch_rows`` rows. The model runs in the event loop, one
    call at a time: handing it to a thread cost more (uvloop's wake-up and the GIL) than the
    parsing it would overlap, and gave a third less throughput here.
    """

    def __init__(self, predict: Callable[[pd.DataFrame], object], batch_rows: int,
                 on_call: Callable[[int], None] = lambda rows: None):
        self._predict = predict
        self._on_call = on_call  # told the rows of each model call
        self._batch_rows = max(batch_rows, 1)
        self._queue: list[tuple[pd.DataFrame, asyncio.Future]] = []
        self._draining = False

    async def predict(self, frame: pd.DataFrame) -> object:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((frame, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                # Let the requests read during the last call reach the queue first.
                await asyncio.sleep(0)
                self._predict_batch(self._next_batch())
        finally:
            self._draining = False

    def _next_batch(self) -> list[tuple[pd.DataFrame, asyncio.Future]]:
        """The oldest request and those after it with the same columns and types.

        Only alike frames are joined: concatenating a frame that lacks a column would fill
        it with NaN, which a float column takes silently, instead of that request failing.
        """
        batch = [self._queue.pop(0)]
        if not self._queue:  # alone: the common case at low load, no shape to compare
            return batch
        shape, rows = _columns_of(batch[0][0]), len(batch[0][0])
        while (self._queue and _columns_of(self._queue[0][0]) == shape
               and rows + len(self._queue[0][0]) <= self._batch_rows):
            rows += len(self._queue[0][0])
            batch.append(self._queue.pop(0))
        return batch

    def _predict_batch(self, batch: list[tuple[pd.DataFrame, asyncio.Future]]) -> None:
        if len(batch) > 1:
            try:
                merged = pd.concat([frame for frame, _ in batch], ignore_index=True)
                self._on_call(len(merged))
                predictions = self._predict(merged)
            except Exception as error:
                # One bad request must not fail the others: predict them one by one below,
                # so each request gets its own answer.
                logger.debug("batch of %d requests failed, predicting each: %s", len(batch), error)
            else:
                _resolve_split(batch, predictions)
                return
        for frame, future in batch:
            try:
                self._on_call(len(frame))
                predictions = self._predict(frame)
            except Exception as error:  # the request's own error, raised in its handler
                _settle(future, error=error)
            else:
                _settle(future, result=predictions)


# --- the metrics -----------------------------------------------------------------------------


@dataclass
class Measured:
    """What a handler tells the metrics about the request it answered."""

    rows: int = 0


class ServedMetrics:
    """The served version's requests on MLServer's metrics endpoint, by route and outcome.

    ``/invocations`` is served by the ONNX export when there is one, the V2 route always by
    the MLflow model: each is counted under its serving path. Label values are bounded: the
    model and version are the settings', codes and rules the catalog's sets (another 4xx
    counts as 400, another 5xx as 500).
    """

    def __init__(self, labels: dict, onnx: bool):
        # Only here: an image or environment that serves without metrics imports neither the
        # catalog nor prometheus_client.
        from mlops_platform.monitoring import catalog

        self._model = (str(labels["model"]), str(labels["version"]))
        mlflow_path = catalog.SERVING_PATHS[1]
        self._invocations_path = catalog.SERVING_PATHS[0] if onnx else mlflow_path
        self._infer_path = mlflow_path
        # Each series is looked up once (labels() costs microseconds on every request).
        requests = _collector(catalog.SERVING_REQUESTS)
        self._requests = {(path, code): requests.labels(*self._model, path, code)
                          for path in {self._invocations_path, mlflow_path}
                          for code in catalog.REQUEST_CODES}
        rejections = _collector(catalog.SERVING_CONTRACT_REJECTIONS)
        self._rejections = {rule: rejections.labels(*self._model, rule)
                            for rule in catalog.CONTRACT_RULES}
        latency = _collector(catalog.SERVING_LATENCY)
        self._latency = {path: latency.labels(*self._model, path)
                         for path in {self._invocations_path, mlflow_path}}
        self._request_rows = _collector(catalog.SERVING_REQUEST_ROWS).labels(*self._model)
        self._batch_rows = _collector(catalog.SERVING_BATCH_ROWS).labels(*self._model)
        if labels.get("trained_at") is not None:
            _collector(catalog.SERVING_MODEL_TRAINED).labels(
                *self._model, self._invocations_path).set(float(labels["trained_at"]))

    def invocations(self, arrived: float) -> contextlib.AbstractContextManager[Measured]:
        return self._request(self._invocations_path, arrived)

    def infer(self, arrived: float) -> contextlib.AbstractContextManager[Measured]:
        return self._request(self._infer_path, arrived)

    def model_call(self, rows: int) -> None:
        self._batch_rows.observe(rows)

    def ab_rows(self, arms: tuple[prediction_log.Predictor, prediction_log.Predictor]
                ) -> Callable[[int, int], None]:
        """Counts each request's rows by arm (champion, challenger), labelled with the version
        of each arm; both series exist from the start."""
        from mlops_platform.monitoring import catalog

        rows = _collector(catalog.SERVING_AB_ROWS)
        champion, challenger = (rows.labels(self._model[0], arm.model_version, arm.arm)
                                for arm in arms)

        def count(champion_rows: int, challenger_rows: int) -> None:
            champion.inc(champion_rows)
            challenger.inc(challenger_rows)

        return count

    def ab_predictions(self, arms: tuple[prediction_log.Predictor, prediction_log.Predictor]
                       ) -> Callable[..., None]:
        """Records each arm's prediction time and failures (arm 0: champion, 1: challenger)."""
        from mlops_platform.monitoring import catalog

        times, failures = (_collector(metric) for metric in (catalog.SERVING_AB_PREDICT_SECONDS,
                                                             catalog.SERVING_AB_FAILURES))
        labels = [(self._model[0], arm.model_version, arm.arm) for arm in arms]
        timed = [times.labels(*values) for values in labels]
        failing = [failures.labels(*values) for values in labels]

        def measure(arm: int, seconds: float, *, failed: bool) -> None:
            timed[arm].observe(seconds)
            if failed:
                failing[arm].inc()

        return measure

    @contextlib.contextmanager
    def _request(self, path: str, arrived: float) -> Iterator[Measured]:
        measured = Measured()
        try:
            yield measured
        except Exception as error:
            self._answered(path, getattr(error, "status_code", 500), arrived)
            if isinstance(error, ContractBrokenError) and error.rule in self._rejections:
                self._rejections[error.rule].inc()
            raise
        self._answered(path, 200, arrived)
        if measured.rows:
            self._request_rows.observe(measured.rows)

    def _answered(self, path: str, status: int, arrived: float) -> None:
        counter = self._requests.get((path, str(status)))
        if counter is None:
            counter = self._requests[path, "500" if status >= 500 else "400"]
        counter.inc()
        self._latency[path].observe(time.perf_counter() - arrived)


class Unmeasured:
    """No ``metrics`` setting: nothing is recorded."""

    @contextlib.contextmanager
    def invocations(self, arrived: float) -> Iterator[Measured]:
        yield Measured()

    infer = invocations

    def model_call(self, rows: int) -> None:
        pass

    def ab_rows(self, arms: tuple) -> Callable[[int, int], None]:
        return lambda champion_rows, challenger_rows: None

    def ab_predictions(self, arms: tuple) -> Callable[..., None]:
        return lambda arm, seconds, *, failed: None


UNMEASURED = Unmeasured()


def _served_version(uri: str | None):
    """A pod names its model by alias (``models:/<name>@champion``): the version it resolved
    to when the model loaded, and that version's training run; None for a path or run URI,
    or when the registry does not answer (logged)."""
    if not (uri or "").startswith("models:/"):
        return None
    from mlflow import MlflowClient
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    client = MlflowClient()
    try:
        name, version = get_model_name_and_version(client, uri)
        run_id = client.get_model_version(name, version).run_id
        return str(version), client.get_run(run_id) if run_id else None
    except (MlflowException, ValueError) as error:
        logger.warning("the registry did not say which version %s serves: %s", uri, error)
        return None


def _version_of(uri: str) -> str:
    """The registry version a challenger's ``models:/`` URI names; ``unknown`` otherwise."""
    served = _served_version(uri)
    return served[0] if served else "unknown"


def _onnx_predict(path: str) -> Callable[[pd.DataFrame], object]:
    from mlops_platform.onnx_predictor import OnnxPredictor  # only where an export is served

    return OnnxPredictor(path).predict


def _in_row_order(parts: list[object], rows: np.ndarray) -> object:
    """Two arms' answers as one, in the request's order: ``parts`` answer the rows ``rows``
    lists, in that order."""
    order = np.argsort(rows, kind="stable")
    if all(hasattr(part, "iloc") for part in parts):
        return pd.concat(parts, ignore_index=True).iloc[order].reset_index(drop=True)
    return np.concatenate([np.asarray(part) for part in parts])[order]


def _promoted_files(uri: str, digest_tag: str) -> tuple[str, str]:
    """The version ``uri`` names, downloaded and checked against the digest the gate recorded
    in its ``digest_tag``: its folder and its pinned URI (``models:/<name>/<version>``). Files
    that differ stop the load (the pod never becomes ready); a version the gate did not
    promote (no tag) is loaded unchecked, logged."""
    import tempfile

    from mlflow import MlflowClient
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    from mlops_platform import model_digest

    client = MlflowClient()
    name, version = get_model_name_and_version(client, uri)
    expected = client.get_model_version(name, version).tags.get(digest_tag)
    folder = model_digest.download_version(name, version, Path(tempfile.mkdtemp(prefix="model-")))
    pinned = f"models:/{name}/{version}"
    if expected is None:
        logger.warning(model_digest.unchecked_note(name, version, digest_tag))
        return str(folder), pinned
    changed = model_digest.changed_files(folder, name, version, expected, digest_tag)
    if changed:
        raise MLServerError(changed)
    return str(folder), pinned


def _registered_labels(labels: dict, served) -> dict:
    """The metrics carry the version an alias named and when its training ended, so model
    staleness is measured in a cluster too. Labels that say when already stay."""
    if labels.get("trained_at") is not None or served is None:
        return labels
    version, run = served
    ended = run.info.end_time if run is not None else None
    return {**labels, "version": version, **({"trained_at": ended / 1000} if ended else {})}


def _target_column(document: dict) -> dict | None:
    """The rule labels must keep; None when the contract does not describe its target."""
    try:
        return rules.target_column(document)
    except rules.ContractFileError:
        return None


def _labels_of(text: str) -> list[tuple[str, object]]:
    """The ``(prediction_id, label)`` pairs of a ``/labels`` body, or a 400 saying what a
    body must hold."""
    try:
        _bounded_depth(text)
        items = json.loads(text)["labels"]
        pairs = [(item[prediction_log.PREDICTION_ID], item[prediction_log.LABEL])
                 for item in items]
    except (ValueError, TypeError, KeyError) as error:
        raise InferenceError(
            f"invalid labels ({error!r}): send {{\"labels\": [{{\"prediction_id\": <id>, "
            "\"label\": <outcome>}, ...]}") from error
    if not pairs:
        raise InferenceError("the request has no labels: send at least one")
    return pairs


def _check_labels(pairs: list[tuple[str, object]], target: dict | None) -> None:
    """A 422 naming every id that is no string, given twice, or whose label breaks the
    target column's rule; nothing is kept then."""
    problems = [f"label {index}: prediction_id must be a string, not {type(pid).__name__}"
                for index, (pid, _) in enumerate(pairs) if not isinstance(pid, str)]
    repeated = [pid for pid, count in Counter(pid for pid, _ in pairs
                                              if isinstance(pid, str)).items() if count > 1]
    problems += [f"prediction_id {pid!r} is labelled more than once in the request"
                 for pid in repeated]
    if target is not None:
        frame = pd.DataFrame({target["name"]: [label for _, label in pairs]})
        violations = rules.check_frame(frame, [target], extra="ignore")
        if violations:
            problems.append(rules.describe(violations))
    if problems:
        raise ContractBrokenError("the labels are refused, none was kept:\n"
                                  + "\n".join(problems), "label")


def _predictors(extra: dict, uri: str | None, served, entity_key: str | None
                ) -> tuple[prediction_log.Predictor, prediction_log.Predictor]:
    """What the log says predicted a row of ``/invocations`` and of the V2 route: the
    served model's name and version, and the engine of each route."""
    labels = _registered_labels(extra.get("metrics") or {}, served)
    name = str(labels.get("model") or _model_name(uri))
    version = str(labels.get("version") or (served[0] if served else "unknown"))
    invocations_path = "onnx" if extra.get("onnx") else "mlflow"
    return (prediction_log.Predictor(name, version, invocations_path, entity_key),
            prediction_log.Predictor(name, version, "mlflow", entity_key))


def _model_name(uri: str | None) -> str:
    """The registered name in a ``models:/<name>/<version>`` or ``models:/<name>@alias``
    URI; ``model`` for a path or run URI."""
    if not (uri or "").startswith("models:/"):
        return "model"
    return uri.removeprefix("models:/").split("/")[0].split("@")[0]


def _run_contract(served, artifact: str | None) -> str | None:
    """The data contract the served version was trained under, from its run's artifacts
    (the door's rules in a cluster); None, logged, when that run has none."""
    if not artifact or served is None or served[1] is None:
        return None
    import tempfile

    from mlflow.artifacts import download_artifacts

    run_id = served[1].info.run_id
    try:
        return download_artifacts(run_id=run_id, artifact_path=artifact,
                                  dst_path=tempfile.mkdtemp(prefix="contract-"))
    except (MlflowException, OSError) as error:
        logger.warning("serving WITHOUT a data contract: run %s has no %s (%s); retrain the "
                       "version with the current template, which logs it", run_id, artifact,
                       error)
        return None


@functools.cache
def _collector(metric):
    """The process's one collector of a catalog metric: a reloaded model reuses it."""
    from mlops_platform.monitoring.metric_collectors import collector_of

    return collector_of(metric)


def _serve_metrics(host: str, port: int) -> None:
    """MLServer's metrics endpoint is off (``metrics_port`` in the model's settings): this
    process serves its collectors, the runtime's and the process' own."""
    from mlops_platform.monitoring.metric_collectors import serve_metrics

    serve_metrics(host, port)


def _columns_of(frame: pd.DataFrame) -> tuple[tuple, tuple]:
    # The dtypes themselves, not their names: formatting 30 of them per queued request cost
    # 6% of the server's time at 16 clients (py-spy, the default project).
    return tuple(frame.columns), tuple(frame.dtypes)


def _resolve_split(batch: list[tuple[pd.DataFrame, asyncio.Future]], predictions: object) -> None:
    """Each request's share of a batch's predictions, in the type the model returned."""
    start = 0
    for frame, future in batch:
        stop = start + len(frame)
        share = predictions.iloc[start:stop] if hasattr(predictions, "iloc") \
            else predictions[start:stop]
        if hasattr(share, "reset_index"):
            share = share.reset_index(drop=True)
        _settle(future, result=share)
        start = stop


def _settle(future: asyncio.Future, result: object = None,
            error: BaseException | None = None) -> None:
    if future.done():  # the client went away and its request was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


@contextlib.contextmanager
def _client_errors() -> Iterator[None]:
    """MLflow's refusals and unparsable payloads as 400s that say what was wrong."""
    try:
        yield
    except MlflowException as error:
        raise InferenceError(error.message) from error
    except (ValueError, TypeError, KeyError) as error:
        # Payloads MLflow cannot parse (a string in a double column, ragged JSON)
        # surface as plain exceptions; they are the client's fault, hence 400.
        raise InferenceError(f"invalid payload: {error}") from error


def _is_table(payload: dict) -> bool:
    """A request whose rows are the model's input frame as they are, with no params."""
    if not isinstance(payload, dict) or "params" in payload:
        return False
    split = payload.get("dataframe_split")
    return "dataframe_records" in payload or (isinstance(split, dict) and "columns" in split)


def _rows_of(payload: dict) -> list[dict]:
    """The request's rows as dicts, for each input format of MLflow's scoring protocol."""
    if "dataframe_records" in payload:
        return payload["dataframe_records"]
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        if not split.get("data"):
            return []
        columns = split.get("columns") or range(len(split["data"][0]))
        _refuse_duplicates(list(columns))
        for index, row in enumerate(split["data"]):
            if len(row) != len(columns):
                raise ValueError(f"dataframe_split row {index} has {len(row)} values for "
                                 f"{len(columns)} columns")
        return [dict(zip(columns, row, strict=True)) for row in split["data"]]
    if "inputs" not in payload and "instances" not in payload:
        raise ValueError(
            f"no input in keys {sorted(payload)[:5]}: send dataframe_records, dataframe_split, "
            "inputs or instances"
        )
    inputs = payload.get("inputs", payload.get("instances"))
    if isinstance(inputs, dict):
        return pd.DataFrame(inputs).to_dict("records")
    return [row if isinstance(row, dict) else {"input": row} for row in inputs]


def _flatten(values: list) -> list:
    return [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values]


def _scalar(value: object) -> object:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    return value
