"""Where a model comes from: git commit, DVC data hashes (the prepared data, and the labelled
served rows it includes), data set, parameters, and the person who trained it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from mlops_platform.api import contract as ml_contract
from mlops_platform.api import trainer_identity

from {{ cookiecutter.package_name }}.data import LABELLED_DIR, PREPARED_DIR, dataset_name
from {{ cookiecutter.package_name }}.params import Params, params_hash

LOCK_FILE = Path("dvc.lock")


def git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or "uncommitted"


def data_hash(lock_file: Path = LOCK_FILE) -> str:
    """The md5 DVC recorded for the prepared data (the prepare stage's output)."""
    if not lock_file.is_file():
        raise FileNotFoundError(f"{lock_file} is missing: run the pipeline with `make pipeline`")
    lock = yaml.safe_load(lock_file.read_text())
    for out in lock["stages"]["prepare"]["outs"]:
        if out["path"] == str(PREPARED_DIR):
            return out["md5"]
    raise KeyError(f"{lock_file} has no output {PREPARED_DIR} of the prepare stage")


def labelled_data_version(lock_file: Path = LOCK_FILE) -> str:
    """The md5 DVC recorded for data/labelled as the prepare stage read it, or "none" when it
    held no labelled rows (its lineage, served.lineage.json, is logged with the run)."""
    lock = yaml.safe_load(lock_file.read_text())
    for dep in lock["stages"]["prepare"].get("deps", []):
        if dep["path"] == str(LABELLED_DIR) and dep.get("nfiles"):
            return dep["md5"]
    return "none"


def lineage_tags(params: Params, validation_status: str) -> dict[str, str]:
    return {
        ml_contract.TAG_GIT_COMMIT: git_commit(),
        ml_contract.TAG_DATA_HASH: data_hash(),
        ml_contract.TAG_LABELLED_DATA: labelled_data_version(),
        ml_contract.TAG_DATASET: dataset_name(params.data),
        ml_contract.TAG_PARAMS_HASH: params_hash(params),
        ml_contract.TAG_DATA_VALIDATION: validation_status,
        ml_contract.TAG_MATURITY_LEVEL: str(params.project.maturity_level),
        # The person, not the tracking account: the gate refuses their own approval of it.
        ml_contract.TAG_TRAINED_BY: trainer_identity().name,
    }
