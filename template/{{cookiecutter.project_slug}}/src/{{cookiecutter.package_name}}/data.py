"""The data set: scikit-learn's breast cancer data, or a CSV file under data/raw/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

PREPARED_DIR = Path("data/prepared")
TRAIN_FILE = PREPARED_DIR / "train.csv"  # also the drift reference
TEST_FILE = PREPARED_DIR / "test.csv"
BUILTIN = {"breast_cancer"}


def load_dataset(data_params: dict[str, Any]) -> pd.DataFrame:
    """Features and the target column, as one frame."""
    source = str(data_params["source"])
    if source == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        return load_breast_cancer(as_frame=True).frame
    return pd.read_csv(source)


def dataset_name(data_params: dict[str, Any]) -> str:
    source = str(data_params["source"])
    return source if source in BUILTIN else Path(source).name


def load_prepared() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(TRAIN_FILE), pd.read_csv(TEST_FILE)


def split_features(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    return frame.drop(columns=[target]), frame[target]
