"""Stage tune: a cross-validated search of params.yaml's tune.grid on the training split.

The train stage fits with the best candidate (reports/tuning.json); the test split stays
unseen until evaluation. Small on purpose: a few candidates times a few folds.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data import load_prepared, split_features
from {{ cookiecutter.package_name }}.features import CLASSIFIER, build_model
from {{ cookiecutter.package_name }}.params import Params, load_params
from {{ cookiecutter.package_name }}.records import TUNING_FILE
from {{ cookiecutter.package_name }}.steps import run_step


def search(train: pd.DataFrame, contract: dict[str, Any], params: Params) -> dict[str, Any]:
    """Every candidate of the grid with its cross-validated primary metric, and the best."""
    features, target = split_features(train, contract["target"])
    folds = StratifiedKFold(params.tune.folds, shuffle=True, random_state=params.data.seed)
    grid = {f"{CLASSIFIER}__{name}": values for name, values in params.tune.grid.items()}
    metric = params.promotion.primary_metric
    searched = GridSearchCV(build_model(contract, params.train), grid, scoring=metric,
                            cv=folds, refit=False).fit(features, target)
    results = searched.cv_results_
    candidates = [{"hyperparameters": unprefixed(candidate), "mean": float(mean),
                   "std": float(std)}
                  for candidate, mean, std in zip(results["params"], results["mean_test_score"],
                                                  results["std_test_score"], strict=True)]
    return {"metric": metric, "folds": params.tune.folds, "candidates": candidates,
            "best": unprefixed(searched.best_params_), "best_score": float(searched.best_score_)}


def unprefixed(candidate: dict[str, Any]) -> dict[str, float]:
    return {name.split("__", 1)[1]: float(value) for name, value in candidate.items()}


def tuned_hyperparameters() -> dict[str, float]:
    """The best candidate the tune stage recorded."""
    return json.loads(TUNING_FILE.read_text())["best"]


def tune() -> None:
    params = load_params()
    train, _ = load_prepared()
    record = search(train, load_contract(), params)
    TUNING_FILE.parent.mkdir(parents=True, exist_ok=True)
    TUNING_FILE.write_text(json.dumps(record, indent=2) + "\n")
    print(f"tuned: {record['best']} ({record['metric']} {record['best_score']:.4f}, "
          f"best of {len(record['candidates'])} by {record['folds']}-fold cross-validation)")


def main() -> int:
    return run_step("tune", tune)


if __name__ == "__main__":
    raise SystemExit(main())
