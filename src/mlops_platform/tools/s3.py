"""An S3 client for the platform's object store, waiting for it when it is still starting."""

from __future__ import annotations

import os
import time
from typing import Any

from mlops_platform.tools.endpoint import unreachable_cause

# Jobs start together with the store: give it this long to answer before failing.
DEFAULT_WAIT_SECONDS = 300.0


class ObjectStoreError(RuntimeError):
    """The store refused or never answered; the message says which and what to check."""


def s3_client(endpoint_url: str | None) -> Any:
    """boto3's S3 client; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."""
    import boto3
    from botocore.config import Config

    # Path-style addressing: an in-cluster store has no DNS name per bucket.
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region,
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 3}))


def store_client() -> Any:
    """The client of the artifact store the MLflow client environment names
    (MLFLOW_S3_ENDPOINT_URL; unset: AWS S3)."""
    return s3_client(os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None)


def when_reachable(call: Any, endpoint_url: str | None, wait_seconds: float) -> Any:
    """Run ``call()``, retrying while the endpoint refuses connections, up to ``wait_seconds``."""
    from botocore.exceptions import EndpointConnectionError

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return call()
        except EndpointConnectionError as err:
            if time.monotonic() >= deadline:
                cause = f": {unreachable_cause(endpoint_url)}" if endpoint_url else ""
                raise ObjectStoreError(f"the object store at {endpoint_url} did not answer "
                                       f"within {wait_seconds:.0f} s{cause} ({err})") from None
            time.sleep(2)


def client_error(err: Exception) -> str:
    """`<code>: <message>` of a botocore ClientError, or the exception's text."""
    response = getattr(err, "response", None) or {}
    error = response.get("Error", {})
    if error:
        return f"{error.get('Code', '?')}: {error.get('Message', '')}".rstrip(": ")
    return str(err)
