"""The data set: scikit-learn's breast cancer data, or a CSV file under data/raw/."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from {{ cookiecutter.package_name }}.params import Data

PREPARED_DIR = Path("data/prepared")
TRAIN_FILE = PREPARED_DIR / "train.csv"  # also the drift reference
TEST_FILE = PREPARED_DIR / "test.csv"
# Labelled served rows (make labelled-data), one DVC version per run; the prepare stage appends
# them to the training split.
LABELLED_DIR = Path("data/labelled")
LABELLED_FILE = LABELLED_DIR / "served.csv"
LABELLED_LINEAGE = LABELLED_DIR / "served.lineage.json"
BUILTIN = {"breast_cancer"}


def load_dataset(data: Data) -> pd.DataFrame:
    """Features and the target column, as one frame."""
    if data.source == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        return load_breast_cancer(as_frame=True).frame
    return pd.read_csv(data.source)


def dataset_name(data: Data) -> str:
    return data.source if data.source in BUILTIN else Path(data.source).name


def load_prepared() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(TRAIN_FILE), pd.read_csv(TEST_FILE)


def split_features(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    return frame.drop(columns=[target]), frame[target]
