"""The model card: filled from the run, the audit-ready explanation governance asks for."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from mlops_platform.api import contract as ml_contract

from {{ cookiecutter.package_name }}.params import Params

PYPROJECT_FILE = Path("pyproject.toml")
TOP_FEATURES = 10


def project_metadata() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT_FILE.read_text())["project"]


def render_model_card(params: Params, run: dict[str, Any], tags: dict[str, str],
                      metrics: dict[str, float], importance: list[dict[str, Any]],
                      contributions: list[dict[str, Any]], rows_test: int, serving: str,
                      skew: dict[str, Any] | None = None) -> str:
    promotion = params.promotion
    metric = promotion.primary_metric
    project = project_metadata()
    return "\n".join([
        f"# Model card: {params.model.name}",
        "",
        "## Model details",
        "",
        f"- Project: {project['name']}, maturity level {params.project.maturity_level}",
        f"- Owner: {', '.join(author['name'] for author in project.get('authors', []))}",
        "- Model: scikit-learn pipeline (standard scaling, one-hot encoding, logistic regression)",
        f"- Training run: `{run['run_id']}` on {run['tracking_uri']}",
        f"- Parameters: {_inline(params.train.model_dump())}",
        f"- Parameters hash: `{tags.get(ml_contract.TAG_PARAMS_HASH, '?')}`",
        f"- Code version: git commit `{tags.get(ml_contract.TAG_GIT_COMMIT, '?')}`",
        "",
        "## Intended use",
        "",
        project["description"],
        "It supports a human decision; it is not meant to decide on its own.",
        "",
        "## Data",
        "",
        f"- Data set: {tags.get(ml_contract.TAG_DATASET, '?')}",
        f"- Data version (DVC md5 of data/prepared): `{tags.get(ml_contract.TAG_DATA_HASH, '?')}`",
        f"- Data contract: {tags.get(ml_contract.TAG_DATA_VALIDATION, '?')}",
        f"- Sample fraction: {params.data.sample_fraction}; test rows: {rows_test}",
        "",
        "## Metrics (test set)",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {name} | {value:.4f} |" for name, value in metrics.items()],
        "",
        f"Promotion gate: {metric} must reach {promotion.threshold} and beat the champion.",
        "",
        "## Explainability",
        "",
        f"Permutation importance (scikit-learn) on the test set: the mean drop of {metric} "
        f"when one feature is shuffled, over {params.explain.n_repeats} repeats. "
        f"The {TOP_FEATURES} most important features:",
        "",
        "| feature | importance | std |",
        "|---|---|---|",
        *[f"| {item['feature']} | {item['mean']:.4f} | {item['std']:.4f} |"
          for item in importance[:TOP_FEATURES]],
        "",
        "What drives each prediction: every feature's contribution to the model's score (the",
        "log-odds of the class it explains), exact and additive: the base value plus the",
        "contributions is the score. Mean absolute contribution on the test set; the served",
        "model's `/explain` gives them per row:",
        "",
        "| feature | mean absolute contribution |",
        "|---|---|",
        *[f"| {item['feature']} | {item['mean_abs_contribution']:.4f} |"
          for item in contributions[:TOP_FEATURES]],
        "",
        "## Serving",
        "",
        f"Served by {serving}.",
        "",
        *_skew_section(skew),
        "## Limits",
        "",
        "- Trained on one data set; its population may differ from the one it serves.",
        "- Ranges outside the data contract are refused at validation, not extrapolated.",
        "- Drift in served inputs (`make drift`) calls for retraining and a new review.",
        "",
    ])


def _skew_section(skew: dict[str, Any] | None) -> list[str]:
    """Training/serving skew, when the project has a feature store: the sampled keys' online
    values against the offline ones the model trained from."""
    if skew is None:
        return []
    differing = ", ".join(f"{name} ({count})" for name, count in
                          skew["features_differing"].items()) or "none"
    return ["## Training/serving skew", "",
            f"Feature store: {skew['mismatched']} of {skew['values']} values differ between the "
            f"online and the offline store for {skew['keys']} sampled keys (share "
            f"{skew['share']:.4f}); features that differ: {differing}.", ""]


def _inline(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items())
