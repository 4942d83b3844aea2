"""The gate's own measurement of a version: its primary metric, recomputed.

Run metrics can be edited by anyone who can log to the run, so the gate never trusts
them: it loads the registered model and scores it on the project's test split (the file
the platform's rules name, e.g. data/prepared/test.csv as DVC restores it), and on the
latest window of the project's labelled served rows (data/labelled/served.csv, the labelled
data version DVC restores), which it reads itself too.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient


@dataclass(frozen=True)
class Measurement:
    value: float | None
    problem: str = ""  # why there is no value


def test_split(project_root: Path, evaluation: dict[str, Any],
               target: str | None) -> tuple[Any, Any] | str:
    """Features and target of the test file, or why they cannot be read."""
    import pandas as pd

    path = project_root / evaluation["test_file"]
    if not path.is_file():
        return (f"{evaluation['test_file']} is missing: run the pipeline (or `dvc pull`) so the "
                "gate can score the model on the recorded test data")
    frame = pd.read_csv(path)
    target = target or evaluation["default_target"]
    if target not in frame.columns:
        return (f"{evaluation['test_file']} has no target column {target!r} "
                f"({evaluation['target_param']} in params.yaml)")
    return frame.drop(columns=[target]), frame[target]


@dataclass(frozen=True)
class RecentRows:
    """The latest labelled window as the gate scores it: features and target, a problem that
    stops the comparison (a str), or None (no window: the test split only); and what the
    audit log says about it."""

    split: tuple[Any, Any] | str | None
    record: dict[str, Any]


def labelled_training_rows(project_root: Path) -> pd.DataFrame | None:
    """The labelled served rows a project's training appends (None: it has none): all but the
    recent window the gate keeps to compare challenger and champion out of sample (as wide as
    the rules of the project's platform environment say)."""
    from mlops_platform.client.platform_rules import platform_rules
    from mlops_platform.client.tracking import target_for

    rules = platform_rules()
    path = project_root / rules.evaluation["labelled_file"]
    if not path.is_file():
        return None
    width = rules.environment(target_for(project_root).environment).recent_window
    # Only now: a project without labelled rows imports none of what reads them.
    from mlops_platform.labelled_data import rows_to_train_on
    from mlops_platform.performance import window_seconds

    return rows_to_train_on(path, window_seconds(width),
                            int(rules.evaluation["recent_min_rows"]))


def recent_rows(project_root: Path, evaluation: dict[str, Any], width: str,
                target: str | None) -> RecentRows:
    """The latest window, ``width`` wide (e.g. 1d), of the project's labelled rows."""
    from mlops_platform.labelled_data import LabelledDataError, recent_window
    from mlops_platform.performance import PerformanceInputError, window_seconds

    path = project_root / evaluation["labelled_file"]
    record: dict[str, Any] = {"labelled_file": evaluation["labelled_file"], "width": width}
    if not path.is_file():
        return RecentRows(None, {**record, "rows": 0, "compared_on": "the test split only: no "
                                 f"labelled served rows in {evaluation['labelled_file']} (make "
                                 "labelled-data makes them)"})
    try:
        window = recent_window(path, window_seconds(width),
                               int(evaluation["recent_min_rows"]))
    except (LabelledDataError, PerformanceInputError, ValueError) as error:
        return RecentRows(str(error), {**record, "problem": str(error)})
    if isinstance(window, str):
        return RecentRows(None, {**record, "rows": 0,
                                 "compared_on": f"the test split only: {window}"})
    target = target or evaluation["default_target"]
    if target not in window.rows.columns:
        problem = f"{evaluation['labelled_file']} has no target column {target!r}"
        return RecentRows(problem, {**record, "problem": problem})
    return RecentRows((window.rows.drop(columns=[target]), window.rows[target]),
                      {**record, **window.summary()})


def load_version(client: MlflowClient, model_name: str, version: str) -> Any:
    """The registered version as a scikit-learn model, or why it cannot be loaded."""
    import mlflow.artifacts
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="mlops-gate-") as scratch:
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=client.get_model_version_download_uri(model_name, version),
                dst_path=scratch,
                tracking_uri=client.tracking_uri)
            return mlflow.sklearn.load_model(local)
        except (MlflowException, OSError) as err:
            return (f"version {version} cannot be loaded as a scikit-learn model: "
                    f"{str(err).splitlines()[0]}")


def measure(client: MlflowClient, model_name: str, version: str, metric: str,
            split: tuple[Any, Any] | str, rows_name: str = "the test split") -> Measurement:
    """`metric` (a scikit-learn scorer name) of version `version` on `split`."""
    from sklearn.metrics import get_scorer

    if isinstance(split, str):
        return Measurement(None, split)
    features, target = split
    model = load_version(client, model_name, version)
    if isinstance(model, str):
        return Measurement(None, model)
    try:
        return Measurement(float(get_scorer(metric)(model, features, target)))
    except (ValueError, KeyError, AttributeError) as err:
        return Measurement(None, f"version {version} cannot be scored on {rows_name}: "
                                 f"{type(err).__name__}: {str(err).splitlines()[0]}")
