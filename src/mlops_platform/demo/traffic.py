"""Traffic for the demo: the project's held-out rows as prediction requests, plain and shifted.

The rows come from the project's own prepared test set, so the requests match the served
model's signature; the shifted copy is what "the world changed" looks like to the drift check.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd

# Every feature scaled by half again: far outside the training distribution, so the
# drift check must flag it, yet still valid numbers the served model accepts.
SHIFT_FACTOR = 1.5
REQUEST_TIMEOUT = 30.0


class TrafficError(RuntimeError):
    """The model server did not answer a prediction request; the message says which and why."""


@dataclass(frozen=True)
class TrafficResult:
    sent: int
    answered: int
    latencies_ms: list[float]
    prediction_ids: list[str] = field(default_factory=list)  # one per answered row, in order

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]

    def __add__(self, other: TrafficResult) -> TrafficResult:
        return TrafficResult(self.sent + other.sent, self.answered + other.answered,
                             self.latencies_ms + other.latencies_ms,
                             self.prediction_ids + other.prediction_ids)


def feature_rows(test_file: Path, target: str) -> pd.DataFrame:
    """The held-out rows without their label: what a client of the model sends."""
    return pd.read_csv(test_file).drop(columns=[target])


def shifted(rows: pd.DataFrame) -> pd.DataFrame:
    return rows * SHIFT_FACTOR


def payload(rows: pd.DataFrame) -> dict:
    return {"dataframe_records": rows.to_dict(orient="records")}


def predict(client: httpx.Client, url: str, rows: pd.DataFrame) -> tuple[list, list[str]]:
    """One request; the predictions and their ids, or TrafficError naming the status and the
    server's reason."""
    try:
        response = client.post(url, json=payload(rows), timeout=REQUEST_TIMEOUT)
    except httpx.HTTPError as error:
        raise TrafficError(f"POST {url} failed: {error}") from error
    if response.status_code != 200:
        raise TrafficError(f"POST {url} answered {response.status_code}: {response.text[:300]}")
    answer = response.json()
    predictions = answer["predictions"]
    if len(predictions) != len(rows):
        raise TrafficError(f"POST {url} answered {len(predictions)} predictions "
                           f"for {len(rows)} rows")
    return predictions, answer.get("prediction_ids", [])


def send_rows(url: str, rows: pd.DataFrame, batch_size: int = 1) -> TrafficResult:
    """Send ``rows`` in batches over one keep-alive connection, timing each request."""
    latencies, ids = [], []
    answered = 0
    with httpx.Client() as client:
        for start in range(0, len(rows), batch_size):
            batch = rows.iloc[start:start + batch_size]
            began = time.perf_counter()
            predictions, batch_ids = predict(client, url, batch)
            latencies.append((time.perf_counter() - began) * 1000)
            answered += len(predictions)
            ids += batch_ids
    return TrafficResult(sent=len(rows), answered=answered, latencies_ms=latencies,
                         prediction_ids=ids)
