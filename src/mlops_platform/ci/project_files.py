"""The files of an ML project that the CI/CD commands read: params.yaml and the metrics report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlops_platform import contract as ml_contract
from mlops_platform.governance.project import PARAMS_FILE, dotted, read_yaml

METRICS_FILE = Path("reports/metrics.json")


class ProjectFileError(ValueError):
    """A project file the command needs is missing or malformed; the message names the fix."""


def read_params(project: Path) -> dict[str, Any]:
    params, problem = read_yaml(project / PARAMS_FILE)
    if problem or not isinstance(params, dict):
        raise ProjectFileError(f"{project / PARAMS_FILE}: {problem or 'not a mapping'}; run this "
                               "command in the root of an ML project generated from the template")
    return params


def param(params: dict[str, Any], key: str) -> Any:
    value = dotted(params, key)
    if value is None:
        raise ProjectFileError(f"params.yaml has no `{key}`: add it (see policies/ml_contract.py)")
    return value


def model_name(project: Path) -> str:
    return str(param(read_params(project), ml_contract.PARAM_MODEL_NAME))


def read_metrics(project: Path) -> dict[str, float]:
    path = project / METRICS_FILE
    if not path.is_file():
        raise ProjectFileError(f"{path} is missing: run the pipeline first "
                               "(`make pipeline` or `make pipeline-sample`)")
    try:
        metrics = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ProjectFileError(f"{path} is not valid JSON ({err}): rerun `make pipeline`") from None
    return {str(name): float(value) for name, value in metrics.items()
            if isinstance(value, int | float)}
