"""What the pre- and post-generation hooks do; each returns the hook's exit code."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_platform.scaffold.data_contract import write_contract
from mlops_platform.scaffold.environment import copy_locks, write_platform_requirement
from mlops_platform.scaffold.layout import remove_unused
from mlops_platform.scaffold.options import (
    BUILTIN_DATASETS,
    OptionError,
    check_options,
    resolve_path,
)
from mlops_platform.scaffold.platform_outputs import OUTPUTS_FILE, platform_outputs_for
from mlops_platform.scaffold.repository import add_raw_data
from mlops_platform.scaffold.template_record import with_repo_dir, write_template_record


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
    """Write the project's files; git, DVC and the first commit come with its first `make`."""
    finish_project(with_repo_dir(context), project_dir)
    if not is_cruft_rerender(context):
        print_next_steps(project_dir)
    return 0


def is_cruft_rerender(context: Mapping[str, Any]) -> bool:
    """`cruft update` renders the old and new template in temporary folders, without
    cookiecutter's `_repo_dir`: "Next: cd <that folder>" would send the user astray."""
    return "_repo_dir" not in context


def finish_project(context: Mapping[str, Any], project_dir: Path) -> None:
    checkout = platform_checkout(context)
    feature_store = str(context.get("feature_store", "none"))
    remove_unused(project_dir, int(context["maturity_level"]), str(context["ci_provider"]),
                  feature_store, str(context["package_name"]))
    platform_outputs_for(context).write(project_dir / OUTPUTS_FILE)
    csv_path = _csv_dataset(context)
    write_contract(project_dir, str(context["dataset"]), str(context["target_column"]), csv_path)
    if csv_path:
        add_raw_data(project_dir, csv_path)
    copy_locks(checkout, project_dir, feature_store)
    write_platform_requirement(project_dir, str(context["platform_package"]), checkout)
    write_template_record(project_dir, checkout, context)


def platform_checkout(context: Mapping[str, Any]) -> Path:
    """The platform repository the template was rendered from (the root index's folder)."""
    return Path(str(context["_repo_dir"])).parent


def print_next_steps(project_dir: Path) -> None:
    print(f"Created {project_dir.resolve()}\n"
          "Next:\n"
          f"  cd {project_dir.resolve()}\n"
          "  make venv       # its own environment from requirements.lock; then git, DVC and "
          "the first commit\n"
          "  make pipeline   # prepare, validate, train, evaluate and register against the "
          "platform")


def _csv_dataset(context: Mapping[str, Any]) -> Path | None:
    dataset = str(context["dataset"])
    if dataset in BUILTIN_DATASETS:
        return None
    return resolve_path(dataset, context)
