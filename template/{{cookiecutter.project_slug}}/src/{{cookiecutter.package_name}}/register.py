"""Stage register: the trained model becomes a registry version with alias challenger.

A version that already exists for the run is reused, so that rerunning the stage
(for instance after the tracking server was back) never registers twice.
"""

from __future__ import annotations

import json

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlops_platform.api import contract as ml_contract

from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.platform import connect, tracking_server_guard
from {{ cookiecutter.package_name }}.records import REGISTRATION_FILE, RUN_FILE
from {{ cookiecutter.package_name }}.steps import run_step


def existing_version(client: MlflowClient, name: str, run_id: str) -> ModelVersion | None:
    found = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    return found[0] if found else None


def version_tags(run_tags: dict[str, str], run_id: str) -> dict[str, str]:
    tags = {key: value for key, value in run_tags.items()
            if key in (*ml_contract.LINEAGE_TAGS, ml_contract.TAG_LABELLED_DATA,
                       ml_contract.TAG_MATURITY_LEVEL)}
    return {**tags, ml_contract.TAG_RUN_ID: run_id}


def register() -> None:
    name = load_params().model.name
    run = json.loads(RUN_FILE.read_text())
    outputs = connect()
    client = MlflowClient()
    with tracking_server_guard(outputs):
        version = existing_version(client, name, run["run_id"])
        if version is None:
            tags = version_tags(client.get_run(run["run_id"]).data.tags, run["run_id"])
            version = mlflow.register_model(run["model_uri"], name, tags=tags)
            print(f"registered {name} version {version.version}")
        else:
            print(f"{name} version {version.version} already holds run {run['run_id']}")
        client.set_registered_model_alias(name, ml_contract.ALIAS_CHALLENGER, version.version)
    REGISTRATION_FILE.parent.mkdir(parents=True, exist_ok=True)
    record = {"model_name": name, "version": str(version.version), "run_id": run["run_id"],
              "alias": ml_contract.ALIAS_CHALLENGER}
    REGISTRATION_FILE.write_text(json.dumps(record, indent=2) + "\n")


def main() -> int:
    return run_step("register", register)


if __name__ == "__main__":
    raise SystemExit(main())
