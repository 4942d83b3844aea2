"""Stage prepare: load the data set, sample it, split it into data/prepared/{train,test}.csv,
and append the labelled served rows of data/labelled/ (make labelled-data) to the training
split only: the test split stays the same rows, so models trained before and after compare on it,
and the latest window of labelled rows stays out, for the promotion gate's comparison.

Data that breaks the data contract stops it before it writes anything: the stage fails, so DVC
records neither the bad data nor its split (in dvc.lock or its cache). The validate stage
checks the prepared splits again and writes the record the later stages depend on.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from mlops_platform.api import labelled_training_rows

from {{ cookiecutter.package_name }} import errors
from {{ cookiecutter.package_name }}.contract import check_frame, load_contract
from {{ cookiecutter.package_name }}.data import (
    LABELLED_FILE,
    PREPARED_DIR,
    TEST_FILE,
    TRAIN_FILE,
    load_dataset,
)
from {{ cookiecutter.package_name }}.params import Data, load_params
from {{ cookiecutter.package_name }}.steps import run_step


def split(frame: pd.DataFrame, data: Data) -> tuple[pd.DataFrame, pd.DataFrame]:
    seed, target, test_size = data.seed, data.target, data.test_size
    if data.sample_fraction < 1.0:
        frame = frame.sample(frac=data.sample_fraction, random_state=seed)
    # Stratified by the target when it is there; a broken target is the validate stage's
    # to report. Plain pandas: importing scikit-learn would double this stage's time.
    if target in frame and frame[target].notna().all():
        test = frame.groupby(target, group_keys=False).sample(frac=test_size, random_state=seed)
    else:
        test = frame.sample(frac=test_size, random_state=seed)
    return frame.drop(index=test.index), test


def read_dataset(data: Data) -> pd.DataFrame:
    try:
        frame = load_dataset(data)
    except pd.errors.EmptyDataError as err:
        raise errors.DataContractError(f"{data.source} holds no data ({err})") from err
    check_frame(frame, load_contract(), data.source)
    return frame


def labelled_rows(columns: pd.Index) -> pd.DataFrame | None:
    """The labelled served rows in the training data's columns, checked against the contract;
    None when there are none. The latest window of them stays out: the promotion gate scores
    challenger and champion on it, neither trained on it."""
    frame = labelled_training_rows(Path.cwd())
    if frame is None:
        return None
    rebuild = "rebuild it under the current contract with `make labelled-data`"
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise errors.DataContractError(f"{LABELLED_FILE} lacks the training data's columns "
                                       f"{missing}: {rebuild}")
    try:
        check_frame(frame, load_contract(), str(LABELLED_FILE))
    except errors.DataContractError as err:
        raise errors.DataContractError(f"{err}; {rebuild}") from err
    return frame[list(columns)]


def prepare() -> None:
    data = load_params().data
    train, test = split(read_dataset(data), data)
    labelled = labelled_rows(train.columns)
    if labelled is not None:
        train = pd.concat([train, labelled], ignore_index=True)
    PREPARED_DIR.mkdir(parents=True, exist_ok=True)
    train.to_csv(TRAIN_FILE, index=False)
    test.to_csv(TEST_FILE, index=False)
    print(f"prepared {len(train)} training rows ({0 if labelled is None else len(labelled)} of "
          f"them labelled served rows from {LABELLED_FILE.parent}) and {len(test)} test rows "
          f"in {PREPARED_DIR}")


def main() -> int:
    return run_step("prepare", prepare)


if __name__ == "__main__":
    raise SystemExit(main())
