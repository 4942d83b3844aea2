"""params.yaml: its one reader, and the schema of the keys the platform reads.

A generated project extends `PlatformParams` with its own keys (class `Params` in
`src/<package>/params.py`); its steps, the promotion gate, the governance checker and
the CI commands all validate the whole file with that class before doing anything.
Values are typed exactly (no text for a number, no `yes` for true) and every error is
one line naming the key, the value and what the key accepts.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from mlops_platform import contract as ml_contract

PARAMS_FILE = "params.yaml"
# Where a project declares its schema: class Params in src/<package>/params.py.
PROJECT_SCHEMA_MODULE = "params.py"
PROJECT_SCHEMA_CLASS = "Params"

Schema = TypeVar("Schema", bound="PlatformParams")


class ParamsError(ValueError):
    """params.yaml cannot be used; the message is one line naming the key, value and fix."""


class Section(BaseModel):
    """A mapping of params.yaml: exact types, finite numbers, no unknown keys."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


class ProjectSection(Section):
    maturity_level: Literal[0, 1, 2]


class ModelSection(Section):
    name: str = Field(pattern=ml_contract.MODEL_NAME_PATTERN,
                      description=f"a registered model name: {ml_contract.MODEL_NAME_RULE}")


class Promotion(Section):
    primary_metric: str = Field(min_length=1)
    threshold: float
    tolerance: float = Field(ge=0)
    higher_is_better: bool


class PlatformParams(Section):
    """The keys the promotion gate, the checker and the CI commands read (contract PARAM_*)."""

    # The other sections belong to the project; its own schema describes them.
    model_config = ConfigDict(extra="allow")

    project: ProjectSection
    model: ModelSection
    promotion: Promotion

    def value(self, key: str) -> Any:
        """The value at a dotted key ('promotion.threshold'); None when it is absent."""
        found: Any = self.model_dump()
        for part in key.split("."):
            if not isinstance(found, dict) or part not in found:
                return None
            found = found[part]
        return found


def load(path: Path | str = PARAMS_FILE, schema: type[Schema] = PlatformParams) -> Schema:
    """params.yaml validated with `schema`, or ParamsError naming every bad key."""
    data = read(path, schema)
    try:
        return schema.model_validate(data)
    except ValidationError as err:
        problems = [describe(schema, error) for error in err.errors()]
        raise ParamsError(f"{path}: {'; '.join(problems)}") from None


def read(path: Path | str, schema: type[BaseModel] = PlatformParams) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path} is missing: run this in the root of a project generated "
                          "from the template (it holds params.yaml)") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path} is not valid YAML: {yaml_problem(err)}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path} must be a mapping of the sections "
                          f"{', '.join(schema.model_fields)}")
    return data


def yaml_problem(err: yaml.YAMLError) -> str:
    """PyYAML's message is several lines with a source excerpt; keep the problem and where."""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    mark = getattr(err, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def describe(schema: type[BaseModel], error: Any) -> str:
    """One pydantic error as `key = value is not valid: what it accepts`."""
    location = tuple(str(part) for part in error["loc"])
    key = ".".join(location)
    if error["type"] == "extra_forbidden":
        known = fields_at(schema, location[:-1])
        close = difflib.get_close_matches(location[-1], known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"{key} is not a known key: {hint}the keys here are {', '.join(known)}"
    field = field_at(schema, location)
    accepts = accepted(field) if field else error["msg"].lower()
    if error["type"] == "missing":
        return f"{key} is missing: add it ({accepts})"
    return f"{key} = {error['input']!r} is not valid: {accepts}"


def section_at(schema: type[BaseModel], location: tuple[str, ...]) -> type[BaseModel] | None:
    for part in location:
        field = schema.model_fields.get(part)
        if field is None or not is_section(field.annotation):
            return None
        schema = field.annotation
    return schema


def fields_at(schema: type[BaseModel], location: tuple[str, ...]) -> list[str]:
    section = section_at(schema, location)
    return list(section.model_fields) if section else []


def field_at(schema: type[BaseModel], location: tuple[str, ...]) -> FieldInfo | None:
    section = section_at(schema, location[:-1])
    return section.model_fields.get(location[-1]) if section and location else None


def is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


BOUND_WORDS = {"gt": "above {:g}", "ge": "of {:g} or more", "lt": "below {:g}", "le": "up to {:g}"}
TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a text"}


def accepted(field: FieldInfo) -> str:
    """What a field accepts, in words: its description, else its type and bounds."""
    if field.description:
        return field.description
    annotation = field.annotation
    if get_origin(annotation) is Literal:
        return f"one of {', '.join(str(choice) for choice in get_args(annotation))}"
    if is_section(annotation):
        return f"a mapping with the keys {', '.join(annotation.model_fields)}"
    noun = TYPE_WORDS.get(annotation, str(annotation))
    if any(getattr(item, "min_length", 0) for item in field.metadata):
        noun = f"a non-empty {noun.removeprefix('a ')}"
    bounds = {name: getattr(item, name) for item in field.metadata for name in BOUND_WORDS
              if getattr(item, name, None) is not None}
    if bounds.keys() == {"ge", "le"}:
        return f"{noun} between {bounds['ge']:g} and {bounds['le']:g}"
    return " ".join([noun, " and ".join(BOUND_WORDS[name].format(bound)
                                         for name, bound in bounds.items())]).strip()


def project_schema(package_dir: Path | None) -> type[PlatformParams]:
    """The project's schema (class Params of src/<package>/params.py), else the platform's.

    This runs the project's params.py: the checker and the gate run in the project's own
    environment (its `make check`, its CI), where the project's code runs anyway.
    """
    path = package_dir / PROJECT_SCHEMA_MODULE if package_dir else None
    if path is None or not path.is_file():
        return PlatformParams
    schema = getattr(project_module(path), PROJECT_SCHEMA_CLASS, None)
    if isinstance(schema, type) and issubclass(schema, PlatformParams):
        return schema
    return PlatformParams


def project_module(path: Path) -> ModuleType:
    """The project's params module: the one already imported, else loaded from its file."""
    name = f"{path.parent.name}.{path.stem}"
    imported = sys.modules.get(name)
    if imported is not None and Path(imported.__file__ or "").resolve() == path.resolve():
        return imported
    # A private name: loading by file must not shadow the project's package in sys.modules.
    private = f"_mlops_platform_project_params_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(private, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[private] = module  # pydantic resolves the annotations through sys.modules
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[private]
        raise ParamsError(f"{path} (the project's params schema) cannot be loaded: "
                          f"{type(err).__name__}: {err}") from None
    return module
