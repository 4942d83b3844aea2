"""Per-prediction explanations of a linear scikit-learn pipeline, exact and additive.

For the template's model (``Pipeline([("features", ColumnTransformer), ("classifier",
<linear model>)])``) the model family's own attribution is exact: the classifier's score
(the log-odds of the explained class) is ``intercept + sum(coef * t)`` over the transformed
features ``t``, so each input feature contributes ``coef * t`` summed over the columns it
became (one scaled column for a number, one column per category for a string). The base
value is the intercept: the score of a row at the training mean of every number (a scaled
value of 0) and of no known category. Per row, ``base_value`` plus every contribution equals
``value``, the model's own ``decision_function``, to rounding (``ADDITIVITY_TOLERANCE``);
this is what SHAP's linear explainer computes for a linear model against that reference row.

Numbers only (numpy; scikit-learn objects are used through their attributes), so the serving
runtime runs it in MLServer's environment for ``/explain`` and the pipeline's evaluate stage
for the model card's global summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# |base_value + sum(contributions) - value| stays below this (float64 rounding).
ADDITIVITY_TOLERANCE = 1e-9
DEFAULT_TOP = 5


class ExplanationError(ValueError):
    """The model is not one this method explains; the message says what it needs."""


def feature_groups(preprocess: Any) -> dict[str, list[int]]:
    """Each input column of a fitted ColumnTransformer -> the indices of the columns it became."""
    groups: dict[str, list[int]] = {}
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder" or transformer in ("drop", "passthrough"):
            continue
        start = preprocess.output_indices_[name].start
        widths = ([len(categories) for categories in transformer.categories_]
                  if hasattr(transformer, "categories_") else [1] * len(columns))
        for column, width in zip(columns, widths, strict=True):
            groups[str(column)] = list(range(start, start + width))
            start += width
    return groups


def _parts(model: Any) -> tuple[Any, Any]:
    steps = getattr(model, "steps", None)
    if not steps or len(steps) != 2 or not hasattr(steps[0][1], "transformers_"):
        raise ExplanationError("explanations need the template's model: a Pipeline of a "
                               "ColumnTransformer and a linear classifier")
    classifier = steps[1][1]
    if not hasattr(classifier, "coef_") or not hasattr(classifier, "decision_function"):
        raise ExplanationError(f"{type(classifier).__name__} has no coefficients: per-row "
                               "contributions are computed for linear classifiers only")
    return steps[0][1], classifier


def _dense(matrix: Any) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=float)


def contributions(model: Any, frame: Any) -> tuple[list[str], np.ndarray, np.ndarray,
                                                    np.ndarray, list[Any]]:
    """(features, contributions per row and feature, base value per row, value per row,
    explained class per row) for ``frame``."""
    preprocess, classifier = _parts(model)
    transformed = _dense(preprocess.transform(frame))
    coef = np.atleast_2d(classifier.coef_)
    intercept = np.atleast_1d(classifier.intercept_)
    # One column per coefficient row: the positive class's score, or each class's.
    scores = classifier.decision_function(transformed).reshape(len(transformed), -1)
    if coef.shape[0] == 1:  # binary: the score of the positive class
        rows_class = np.zeros(len(transformed), dtype=int)
        explained = [classifier.classes_[-1]] * len(transformed)
    else:  # one score per class: explain the predicted one
        rows_class = scores.argmax(axis=1)
        explained = [classifier.classes_[index] for index in rows_class]
    per_column = transformed * coef[rows_class]
    groups = feature_groups(preprocess)
    names = list(groups)
    per_feature = np.stack([per_column[:, groups[name]].sum(axis=1) for name in names], axis=1)
    values = scores[np.arange(len(transformed)), rows_class]
    return names, per_feature, intercept[rows_class], values, explained


def explain(model: Any, frame: Any, top: int = DEFAULT_TOP) -> list[dict[str, Any]]:
    """Each row's explanation: its base value, its value (the classifier's score of the
    explained class), the ``top`` contributions by size and the sum of the others, so that
    ``base_value + sum(top) + others == value``."""
    names, per_feature, base, values, explained = contributions(model, frame)
    found = []
    for row, contribution in enumerate(per_feature):
        order = np.argsort(-np.abs(contribution), kind="stable")
        shown = order[:top]
        found.append({
            "class": _plain(explained[row]), "base_value": float(base[row]),
            "value": float(values[row]),
            "contributions": [{"feature": names[index], "contribution": float(contribution[index])}
                              for index in shown],
            "others": float(contribution[order[top:]].sum())})
    return found


def global_importance(model: Any, frame: Any) -> list[dict[str, Any]]:
    """Mean absolute contribution of each feature over ``frame``, largest first."""
    names, per_feature, *_ = contributions(model, frame)
    means = np.abs(per_feature).mean(axis=0)
    return [{"feature": names[index], "mean_abs_contribution": float(means[index])}
            for index in np.argsort(-means, kind="stable")]


def additivity_gap(explanation: dict[str, Any]) -> float:
    shown: Sequence[dict[str, Any]] = explanation["contributions"]
    total = explanation["base_value"] + sum(item["contribution"] for item in shown)
    return abs(total + explanation["others"] - explanation["value"])


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
