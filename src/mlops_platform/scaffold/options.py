"""Checks of the cookiecutter variables, each naming the variable and what it accepts."""

from __future__ import annotations

import csv
import keyword
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlops_platform.contract import (
    MODEL_NAME_PATTERN,
    MODEL_NAME_RULE,
    PlatformOutputsError,
    read_outputs,
)
from mlops_platform.scaffold.shadowing import (
    PROJECT_LOCK,
    replaced_by_distribution,
    shadowed_by_package,
)
from mlops_platform.scaffold.template_record import with_repo_dir

BUILTIN_DATASETS = ("breast_cancer",)
LOCAL_PLATFORM = "local"
MATURITY_LEVELS = ("0", "1", "2")
CI_PROVIDERS = ("github", "gitlab")
PYTHON_VERSIONS = ("3.11", "3.12")
PRIMARY_METRICS = ("roc_auc", "f1", "accuracy", "precision", "recall")
FEATURE_STORES = ("none", "feast")
MIN_CSV_ROWS = 20

_SLUG = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)
_REPO_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
_STACK_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_GIT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")
_PLATFORM_REQUIREMENT = re.compile(r"^mlops-platform(\[[a-z,]+\])?\s*(==|~=|>=|@)\s*\S+$")


class OptionError(ValueError):
    """Bad cookiecutter variables: one line per problem, each naming the variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def check_options(context: Mapping[str, Any]) -> None:
    """Raise OptionError listing every bad variable of the cookiecutter context."""
    problems = [problem for check in _CHECKS if (problem := check(context))]
    if problems:
        raise OptionError(problems)


def resolve_path(value: str, context: Mapping[str, Any]) -> Path:
    """A user-given path; relative ones are relative to the output directory."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    return Path(context.get("_output_dir", ".")) / path


def _choice(name: str, allowed: tuple[str, ...],
            default: str = "") -> Callable[[Mapping[str, Any]], str | None]:
    def check(context: Mapping[str, Any]) -> str | None:
        value = str(context.get(name, default))
        if value in allowed:
            return None
        return f"{name}={value!r} is not allowed: choose one of {', '.join(allowed)}"

    return check


def _project_name(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("project_name", "")).strip()
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9 _-]{0,31}", value):
        return None
    return (f"project_name={value!r} is not allowed: use words of letters, digits, spaces, "
            "'-' or '_', starting with a letter, at most 32 characters (e.g. 'Churn Model')")


def _project_slug(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("project_slug", ""))
    if _SLUG.fullmatch(value):
        return None
    return (f"project_slug={value!r} is not allowed: lower-case letters, digits and '-', "
            "starting with a letter (it derives from project_name; set a simpler name)")


def _package_name(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("package_name", ""))
    if _PACKAGE.fullmatch(value) and not keyword.iskeyword(value):
        return None
    return (f"package_name={value!r} is not a Python identifier: lower-case letters, digits "
            "and '_', starting with a letter, not a keyword (it derives from project_slug)")


def _shadowing(context: Mapping[str, Any]) -> str | None:
    """One line for a name the project's own package or distribution would take from
    something it depends on (`Mlflow` would be both)."""
    package, slug = str(context.get("package_name", "")), str(context.get("project_slug", ""))
    lock = Path(str(with_repo_dir(context)["_repo_dir"])).parent / PROJECT_LOCK
    another = (f"choose another project_name (e.g. "
               f"{str(context.get('project_name', '')).strip() + ' Model'!r})")
    if hidden := shadowed_by_package(package, lock):
        return (f"package_name={package!r} would hide {hidden} from the project's code: "
                f"{another} or set package_name")
    if replaced := replaced_by_distribution(slug, lock):
        return (f"project_slug={slug!r} is the name of the dependency {replaced}, which "
                f"`make venv` would replace with the project: {another} or set project_slug")
    return None


def _description(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("description", "")).strip()
    if value and not set(value) & set('\n"\\{}'):
        return None
    return ("description must be one non-empty line, without quotes, backslashes or braces, "
            "saying what the model predicts")


def _author(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("author", "")).strip()
    if value and not set(value) & set('\n"\\{}'):
        return None
    return ("author must be one non-empty line without quotes, backslashes or braces: "
            "name a person or the owning team")


def _model_name(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("model_name", ""))
    if _MODEL_NAME.fullmatch(value):
        return None
    return f"model_name={value!r} is not allowed: {MODEL_NAME_RULE}"


def _promotion_threshold(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("promotion_threshold", ""))
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if 0.0 <= number <= 1.0:
        return None
    return f"promotion_threshold={value!r} is not allowed: a number between 0 and 1 (e.g. 0.9)"


def _dataset(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("dataset", ""))
    if value in BUILTIN_DATASETS:
        return None
    target = str(context.get("target_column", ""))
    path = resolve_path(value, context)
    allowed = f"use {' or '.join(BUILTIN_DATASETS)} or the path of a CSV file"
    if not value or path.suffix.lower() != ".csv":
        return f"dataset={value!r} is not allowed: {allowed}"
    try:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            rows = sum(1 for _ in reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        return f"dataset={value!r} cannot be read ({err}): {allowed}"
    if target not in header:
        return (f"target_column={target!r} is not a column of dataset {path}: "
                f"choose one of {', '.join(header)}")
    if rows < MIN_CSV_ROWS:
        return f"dataset={value!r} has {rows} rows: a model needs at least {MIN_CSV_ROWS}"
    return None


def _platform_outputs(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("platform_outputs", ""))
    if value == LOCAL_PLATFORM:
        return None
    try:
        read_outputs(resolve_path(value, context))
    except PlatformOutputsError as err:
        return f"platform_outputs={value!r}: {err}; or use {LOCAL_PLATFORM!r}"
    return None


def _platform_repo(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("platform_repo", ""))
    if _REPO_PATH.fullmatch(value):
        return None
    return (f"platform_repo={value!r} is not allowed: the repository path on GitHub/GitLab, "
            "e.g. your-org/mlops-platform-template")


def _platform_version(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("platform_version", ""))
    if _GIT_REF.fullmatch(value):
        return None
    return (f"platform_version={value!r} is not allowed: a tag of the platform repository, "
            "e.g. v0.1.0")


def _platform_package(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("platform_package", ""))
    if value == LOCAL_PLATFORM or _PLATFORM_REQUIREMENT.fullmatch(value):
        return None
    return (f"platform_package={value!r} is not allowed: {LOCAL_PLATFORM!r} (the checkout this "
            "template is in) or a pip requirement such as mlops-platform==0.1.0")


def _platform_stack_prefix(context: Mapping[str, Any]) -> str | None:
    value = str(context.get("platform_stack_prefix", ""))
    if _STACK_PREFIX.fullmatch(value):
        return None
    return (f"platform_stack_prefix={value!r} is not allowed: the Pulumi organization/project "
            "of the platform, e.g. organization/mlops-platform")


_CHECKS: tuple[Callable[[Mapping[str, Any]], str | None], ...] = (
    _project_name, _project_slug, _package_name, _shadowing, _description, _author,
    _choice("maturity_level", MATURITY_LEVELS), _choice("ci_provider", CI_PROVIDERS),
    _choice("python_version", PYTHON_VERSIONS), _model_name,
    _choice("primary_metric", PRIMARY_METRICS), _promotion_threshold, _dataset,
    # A project baked before the option existed has none.
    _choice("feature_store", FEATURE_STORES, default="none"),
    _platform_outputs, _platform_repo, _platform_version, _platform_package,
    _platform_stack_prefix,
)
