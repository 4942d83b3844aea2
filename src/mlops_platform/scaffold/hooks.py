"""What the pre- and post-generation hooks do; each returns the hook's exit code."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_platform.scaffold.data_contract import write_contract
from mlops_platform.scaffold.layout import remove_unused
from mlops_platform.scaffold.options import (
    BUILTIN_DATASETS,
    OptionError,
    check_options,
    resolve_path,
)
from mlops_platform.scaffold.platform_outputs import (
    OUTPUTS_FILE,
    dvc_remote_url,
    platform_outputs_for,
)
from mlops_platform.scaffold.repository import RepositoryError, add_raw_data, init_repository


def run_pre_generation(context: Mapping[str, Any]) -> int:
    try:
        check_options(context)
    except OptionError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        print("Nothing was generated; fix the variables above and run cookiecutter again.",
              file=sys.stderr)
        return 1
    return 0


def run_post_generation(context: Mapping[str, Any], project_dir: Path) -> int:
    try:
        finish_project(context, project_dir)
    except RepositoryError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except ImportError as err:
        print(f"error: the post-generation hook needs DVC ({err}); run cookiecutter from the "
              "platform repository's environment: .venv/bin/cookiecutter", file=sys.stderr)
        return 1
    return 0


def finish_project(context: Mapping[str, Any], project_dir: Path) -> None:
    remove_unused(project_dir, int(context["maturity_level"]), str(context["ci_provider"]))
    outputs = platform_outputs_for(context)
    outputs.write(project_dir / OUTPUTS_FILE)
    csv_path = _csv_dataset(context)
    write_contract(project_dir, str(context["dataset"]), str(context["target_column"]), csv_path)
    raw_data = add_raw_data(project_dir, csv_path) if csv_path else None
    init_repository(project_dir, dvc_remote_url(outputs), raw_data, str(context["author"]))


def _csv_dataset(context: Mapping[str, Any]) -> Path | None:
    dataset = str(context["dataset"])
    if dataset in BUILTIN_DATASETS:
        return None
    return resolve_path(dataset, context)
