"""Stage train: fit the model and log it, with its lineage, to the tracking server."""

from __future__ import annotations

import json
from typing import Any

import mlflow
import mlflow.sklearn
import numpy
import pandas
import sklearn
import skops
import skops.io
from mlflow.models import infer_signature
from mlops_platform.api import contract as ml_contract
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.contract import load_contract
{%- if cookiecutter.feature_store == 'feast' %}
from {{ cookiecutter.package_name }}.data import LABELLED_LINEAGE, split_features
{%- else %}
from {{ cookiecutter.package_name }}.data import LABELLED_LINEAGE, load_prepared, split_features
{%- endif %}
from {{ cookiecutter.package_name }}.errors import ModelQualityError
{%- if cookiecutter.feature_store == 'feast' %}
from {{ cookiecutter.package_name }}.feature_store import training_frame
{%- endif %}
from {{ cookiecutter.package_name }}.features import build_model
from {{ cookiecutter.package_name }}.lineage import lineage_tags
from {{ cookiecutter.package_name }}.params import Train, load_params
from {{ cookiecutter.package_name }}.platform import connect, tracking_server_guard
from {{ cookiecutter.package_name }}.records import RUN_FILE, VALIDATION_FILE
from {{ cookiecutter.package_name }}.steps import run_step
from {{ cookiecutter.package_name }}.tune import tuned_hyperparameters

EXPERIMENT = "{{ cookiecutter.project_slug }}"
# Runs on a sample (pull requests' `make pipeline-sample`) go to an experiment of their own:
# their jobs hold the read-only registry identity, which may create experiments but not write
# into the main one, and the main experiment keeps only runs that can be registered.
SAMPLE_EXPERIMENT = "{{ cookiecutter.project_slug }}-samples"
MODEL_ARTIFACT = "model"


def fit(train: pandas.DataFrame, contract: dict[str, Any], train_params: Train,
        hyperparameters: dict[str, float] | None = None) -> Pipeline:
    features, target = split_features(train, contract["target"])
    return build_model(contract, train_params, hyperparameters).fit(features, target)


def numerical_problems(model: Pipeline, features: pandas.DataFrame) -> list[str]:
    """What makes the fitted model numerically unstable: a solver that did not converge,
    coefficients or predicted probabilities that are not finite numbers in [0, 1]."""
    classifier = model[-1]
    problems = []
    if numpy.any(classifier.n_iter_ >= classifier.max_iter):
        problems.append(f"the solver did not converge in max_iter={classifier.max_iter} "
                        "iterations (raise train.max_iter in params.yaml)")
    if not numpy.isfinite(classifier.coef_).all() or not numpy.isfinite(
            classifier.intercept_).all():
        problems.append("the coefficients are not all finite")
    probabilities = model.predict_proba(features)
    if not numpy.isfinite(probabilities).all() or not (
            (probabilities >= 0) & (probabilities <= 1)).all():
        problems.append("the predicted probabilities are not all finite numbers in [0, 1]")
    return problems


def pip_requirements() -> list[str]:
    # Explicit: inferring them costs seconds and picks up whatever the environment holds.
    return [f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}",
            f"numpy=={numpy.__version__}", f"pandas=={pandas.__version__}"]


def train() -> None:
    params = load_params()
    validation = json.loads(VALIDATION_FILE.read_text())["status"]
    outputs = connect()
    contract = load_contract()
{%- if cookiecutter.feature_store == 'feast' %}
    train_frame = training_frame()  # from the feature store, point in time
{%- else %}
    train_frame, _ = load_prepared()
{%- endif %}
    hyperparameters = tuned_hyperparameters()
    model = fit(train_frame, contract, params.train, hyperparameters)
    features, _ = split_features(train_frame, contract["target"])
    problems = numerical_problems(model, features)
    if problems:
        raise ModelQualityError(f"the trained model is numerically unstable: {'; '.join(problems)}")
    with tracking_server_guard(outputs):
        experiment = EXPERIMENT if params.data.sample_fraction == 1 else SAMPLE_EXPERIMENT
        mlflow.set_experiment(experiment)
        with mlflow.start_run(tags=lineage_tags(params, validation)) as run:
            mlflow.log_params({f"train.{key}": value
                               for key, value in params.train.model_dump().items()})
            mlflow.log_params({f"train.{key}": value for key, value in hyperparameters.items()})
            mlflow.log_params({"data.sample_fraction": params.data.sample_fraction,
                               "data.rows_train": len(train_frame)})
            # The serving pods check requests against the contract the version was trained on.
            mlflow.log_dict(contract, ml_contract.DATA_CONTRACT_ARTIFACT)
            if LABELLED_LINEAGE.is_file():  # which served predictions it learned from
                mlflow.log_artifact(str(LABELLED_LINEAGE))
            info = mlflow.sklearn.log_model(
                model, name=MODEL_ARTIFACT,
                signature=infer_signature(features, model.predict(features)),
                input_example=features.head(3),
                pip_requirements=pip_requirements(),
                serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
                skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(model)),
            )
    RUN_FILE.parent.mkdir(parents=True, exist_ok=True)
    record = {"run_id": run.info.run_id, "model_uri": info.model_uri, "model_id": info.model_id,
              "experiment": experiment, "tracking_uri": outputs.tracking_uri}
    RUN_FILE.write_text(json.dumps(record, indent=2) + "\n")
    print(f"trained run {run.info.run_id} at {outputs.tracking_uri}")


def main() -> int:
    return run_step("train", train)


if __name__ == "__main__":
    raise SystemExit(main())
