"""Smoke test of a running platform's tracking server: log a run, register a model, read both back.

``python -m mlops_platform.ci.smoke_test --outputs platform_outputs.json`` (or ``--tracking-uri``)
is what the kind workflow runs after ``pulumi up``; it runs the same against the embedded
local platform. Credentials come from ``MLFLOW_TRACKING_USERNAME``/``_PASSWORD`` as MLflow
reads them. Exit codes: 0 healthy, 1 a check failed, 2 the platform cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from mlops_platform.client.tracking import unreachable_reason, use_client_environment
from mlops_platform.contract import PlatformOutputsError, read_outputs

EXPERIMENT = "platform-smoke-test"
CREDENTIAL_ENV = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


class SmokeTestError(AssertionError):
    """The platform answered, but not as it should."""


@dataclass(frozen=True)
class SmokeResult:
    run_id: str
    model_name: str
    model_version: str


def train_tiny_model():  # a fitted sklearn estimator
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


def run_smoke_test(tracking_uri: str, registry_uri: str | None = None) -> SmokeResult:
    use_client_environment()
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(registry_uri or tracking_uri)
    mlflow.set_experiment(EXPERIMENT)
    model_name = f"smoke-{uuid.uuid4().hex[:8]}"
    with mlflow.start_run() as run:
        mlflow.log_param("probe", "smoke")
        mlflow.log_metric("ok", 1.0)
        # Explicit requirements: MLflow's inference of them costs seconds and is not tested here.
        info = mlflow.sklearn.log_model(train_tiny_model(), name="model",
                                        pip_requirements=["scikit-learn"],
                                        registered_model_name=model_name)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri or tracking_uri)
    logged = client.get_run(run.info.run_id)
    if logged.data.metrics.get("ok") != 1.0 or logged.data.params.get("probe") != "smoke":
        raise SmokeTestError(f"run {run.info.run_id} did not keep its metric and param")
    versions = client.search_model_versions(f"name = '{model_name}'")
    if [version.run_id for version in versions] != [run.info.run_id]:
        raise SmokeTestError(f"model {model_name} has no version from run {run.info.run_id}")
    loaded = mlflow.sklearn.load_model(f"models:/{model_name}/{versions[0].version}")
    if list(loaded.predict([[0.0], [3.0]])) != [0, 1]:
        raise SmokeTestError(f"model {info.model_uri} does not predict after a round trip")
    return SmokeResult(run.info.run_id, model_name, str(versions[0].version))


def mlflow_problem(err: Exception, tracking_uri: str) -> str:
    """One line for an MlflowException, with the fix when the server wants credentials."""
    status = getattr(err, "get_http_status_code", lambda: None)()
    first_line = (str(getattr(err, "message", err)).strip().splitlines() or ["?"])[0]
    if status in (401, 403) or "401" in first_line:
        given = all(os.environ.get(name) for name in CREDENTIAL_ENV)
        fix = ("check them" if given else "set them") + " (the platform's user: `pulumi stack " \
            "output tracking_username`/`tracking_password --show-secrets`)"
        return (f"the tracking server at {tracking_uri} refused the request ({first_line}); "
                f"it reads {' and '.join(CREDENTIAL_ENV)}: {fix}")
    return f"MLflow at {tracking_uri}: {first_line}"


def tracking_uris(args: argparse.Namespace) -> tuple[str, str]:
    if args.tracking_uri:
        return args.tracking_uri, args.tracking_uri
    outputs = read_outputs(args.outputs)
    return outputs.tracking_uri, outputs.registry_uri


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.ci.smoke_test",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--outputs", type=Path, default=Path("platform_outputs.json"),
                       help="platform outputs file (pulumi stack output --json, or the local one)")
    where.add_argument("--tracking-uri", help="the tracking server's address")
    args = parser.parse_args(argv)
    try:
        tracking_uri, registry_uri = tracking_uris(args)
    except PlatformOutputsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    reason = unreachable_reason(tracking_uri)
    if reason:
        print(f"error: the tracking server at {tracking_uri} is unreachable ({reason}): start "
              "the platform (`make platform-up`, or `pulumi up` and a port-forward)",
              file=sys.stderr)
        return 2
    from mlflow.exceptions import MlflowException

    try:
        result = run_smoke_test(tracking_uri, registry_uri)
    except SmokeTestError as err:
        print(f"smoke test failed: {err}", file=sys.stderr)
        return 1
    except MlflowException as err:
        print(f"smoke test failed: {mlflow_problem(err, tracking_uri)}", file=sys.stderr)
        return 1
    print(f"smoke test passed: run {result.run_id} logged, model {result.model_name} "
          f"version {result.model_version} registered and loaded back at {tracking_uri}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
