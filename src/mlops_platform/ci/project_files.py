"""The files of an ML project that the CI/CD commands read: params.yaml and the metrics of a
pull request's sample run (`make pipeline-sample`), kept out of git under reports/sample/.

params.yaml comes through the governance Project, which validates it with the project's
schema (mlops_platform.params) and raises ProjectError or ParamsError.
"""

from __future__ import annotations

import json
from pathlib import Path

SAMPLE_DIR = Path("reports/sample")  # the project's .gitignore lists it
SAMPLE_METRICS_FILE = SAMPLE_DIR / "metrics.json"


class ProjectFileError(ValueError):
    """A project file the command needs is missing or malformed; the message names the fix."""


def read_sample_metrics(project: Path) -> dict[str, float]:
    path = project / SAMPLE_METRICS_FILE
    if not path.is_file():
        raise ProjectFileError(f"{path} is missing: run the pipeline on a sample first "
                               "(`make pipeline-sample`)")
    try:
        metrics = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ProjectFileError(f"{path} is not valid JSON ({err}): rerun "
                               "`make pipeline-sample`") from None
    return {str(name): float(value) for name, value in metrics.items()
            if isinstance(value, int | float)}
