"""The project's data, prepared the way the pipeline prepares it, for every test."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data import load_dataset
from {{ cookiecutter.package_name }}.params import Params, load_params
from {{ cookiecutter.package_name }}.prepare import split

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _in_project_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_DIR)


@pytest.fixture(scope="session")
def params() -> Params:
    return load_params(PROJECT_DIR / "params.yaml")


@pytest.fixture(scope="session")
def contract() -> dict:
    return load_contract(PROJECT_DIR / "data_contract.yaml")


@pytest.fixture(scope="session")
def dataset(params: Params) -> pd.DataFrame:
    data = params.data
    if data.source != "breast_cancer":
        data = data.model_copy(update={"source": str(PROJECT_DIR / data.source)})
    return load_dataset(data)


@pytest.fixture(scope="session")
def train_test(dataset: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    return split(dataset, params.data.model_copy(update={"sample_fraction": 1.0}))
