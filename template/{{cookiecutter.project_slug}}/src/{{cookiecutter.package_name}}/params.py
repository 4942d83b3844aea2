"""params.yaml: the pipeline's parameters and their schema, checked before every step.

The reader and the platform's keys (project, model, promotion) come from the platform
package (mlops_platform.params); the schema here adds this project's own keys and narrows
the promotion rule to what the evaluate stage computes. `make check` validates params.yaml
with the Params class below as well: add a key here when you add one to params.yaml.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from mlops_platform.api import PRIMARY_METRICS, PlatformParams, Section
from mlops_platform.api import params as platform_params
from pydantic import ConfigDict, Field, PositiveFloat

PARAMS_FILE = Path(platform_params.PARAMS_FILE)


class Data(Section):
    source: str = Field(min_length=1, description="breast_cancer or the path of a CSV file")
    target: str = Field(min_length=1)
    sample_fraction: float = Field(gt=0, le=1)
    test_size: float = Field(gt=0, lt=1)
    seed: int


class Train(Section):
    max_iter: int = Field(ge=1)


class Tune(Section):
    # Hyperparameters of the classifier (LogisticRegression) and the values to try.
    grid: dict[str, list[PositiveFloat]] = Field(min_length=1)
    folds: int = Field(ge=2)


class Slices(Section):
    column: str | None = None  # None: the first numeric feature of the data contract
    bins: int = Field(ge=2)
    min_accuracy: float = Field(ge=0, le=1)


class Monitoring(Section):
    max_model_age_days: float = Field(gt=0)
    # `make performance`: the largest fall of the primary metric below its promoted value;
    # None: the platform's limit. The platform refuses one larger than its own.
    max_drop: float | None = Field(None, ge=0)


class Explain(Section):
    n_repeats: int = Field(ge=1)  # permutation-importance repeats for the model card


class Promotion(platform_params.Promotion):
    primary_metric: Literal[PRIMARY_METRICS]  # the metrics the evaluate stage computes
    threshold: float = Field(ge=0, le=1)  # each of them lies between 0 and 1


class Params(PlatformParams):
    # Unlike the platform's schema, which knows only its own keys, this one knows them all.
    model_config = ConfigDict(extra="forbid")

    data: Data
    train: Train
    tune: Tune
    promotion: Promotion
    explain: Explain
    slices: Slices
    monitoring: Monitoring


def load_params(path: Path = PARAMS_FILE) -> Params:
    """params.yaml, validated: ParamsError names every key that breaks the schema."""
    return platform_params.load(path, Params)


def params_hash(params: Params) -> str:
    canonical = json.dumps(params.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
