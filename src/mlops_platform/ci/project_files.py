"""The files of an ML project that the CI/CD commands read: params.yaml and the metrics report.

params.yaml comes through the governance Project, which validates it with the project's
schema (mlops_platform.params) and raises ProjectError or ParamsError.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_platform.governance.project import Project

METRICS_FILE = Path("reports/metrics.json")


class ProjectFileError(ValueError):
    """A project file the command needs is missing or malformed; the message names the fix."""


def model_name(project: Path) -> str:
    return Project.open(project).params.model.name


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
