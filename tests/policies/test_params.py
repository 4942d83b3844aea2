"""params.yaml through the package's one reader: the platform's schema and a project's own."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_platform import contract as ml_contract
from mlops_platform.client.project import Project
from mlops_platform.params import ParamsError, PlatformParams, load

VALID: dict[str, Any] = {
    "project": {"maturity_level": 1},
    "model": {"name": "churn-model"},
    # A loss: lower is better and the threshold is no fraction.
    "promotion": {"primary_metric": "rmse", "threshold": 10, "tolerance": 0.0,
                  "higher_is_better": False},
    "train": {"C": 1.0},  # the project's own section: the platform's schema lets it through
}
MISSING = object()
PROJECT_SCHEMA = '''
from pydantic import Field
from mlops_platform.params import PlatformParams, Section


class Train(Section):
    C: float = Field(gt=0)


class Params(PlatformParams):
    train: Train
'''


def write(root: Path, params: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root / "params.yaml"


def changed(key: str, value: Any) -> dict[str, Any]:
    params = copy.deepcopy(VALID)
    *sections, last = key.split(".")
    mapping = params
    for section in sections:
        mapping = mapping[section]
    if value is MISSING:
        del mapping[last]
    else:
        mapping[last] = value
    return params


def test_valid_params_are_typed_and_keep_the_projects_sections(tmp_path: Path) -> None:
    params = load(write(tmp_path, VALID))

    assert params.promotion.threshold == 10.0
    assert params.promotion.higher_is_better is False
    assert params.value(ml_contract.PARAM_MODEL_NAME) == "churn-model"
    assert params.value("train.C") == 1.0
    assert params.value("train.max_iter") is None


@pytest.mark.parametrize(("key", "value", "problem"), [
    pytest.param(ml_contract.PARAM_THRESHOLD, "high",
                 "promotion.threshold = 'high' is not valid: a number", id="threshold-text"),
    pytest.param(ml_contract.PARAM_THRESHOLD, float("nan"),
                 "promotion.threshold = nan is not valid: a number", id="threshold-nan"),
    pytest.param(ml_contract.PARAM_TOLERANCE, -0.1,
                 "promotion.tolerance = -0.1 is not valid: a number of 0 or more",
                 id="negative-tolerance"),
    pytest.param(ml_contract.PARAM_HIGHER_IS_BETTER, "yes",
                 "promotion.higher_is_better = 'yes' is not valid: true or false",
                 id="bool-as-text"),
    pytest.param(ml_contract.PARAM_HIGHER_IS_BETTER, MISSING,
                 "promotion.higher_is_better is missing: add it (true or false)", id="missing"),
    pytest.param(ml_contract.PARAM_MATURITY_LEVEL, "1",
                 "project.maturity_level = '1' is not valid: one of 0, 1, 2", id="level-as-text"),
    pytest.param(ml_contract.PARAM_MATURITY_LEVEL, 3,
                 "project.maturity_level = 3 is not valid: one of 0, 1, 2", id="unknown-level"),
    pytest.param(ml_contract.PARAM_MODEL_NAME, "my model",
                 "model.name = 'my model' is not valid: a registered model name: "
                 f"{ml_contract.MODEL_NAME_RULE}", id="model-name-with-space"),
    pytest.param(ml_contract.PARAM_PRIMARY_METRIC, "",
                 "promotion.primary_metric = '' is not valid: a non-empty text",
                 id="empty-metric"),
    pytest.param("promotion", "strict",
                 "promotion = 'strict' is not valid: a mapping with the keys primary_metric, "
                 "threshold, tolerance, higher_is_better", id="section-not-a-mapping"),
    pytest.param("promotion.treshold", 0.9,
                 "promotion.treshold is not a known key: did you mean threshold? the keys here "
                 "are primary_metric, threshold, tolerance, higher_is_better", id="misspelt-key"),
])
def test_a_bad_value_is_one_line_naming_key_value_and_what_it_accepts(
        tmp_path: Path, key: str, value: Any, problem: str) -> None:
    path = write(tmp_path, changed(key, value))

    with pytest.raises(ParamsError) as raised:
        load(path)

    assert str(raised.value) == f"{path}: {problem}"


def test_every_bad_key_is_named_on_the_same_line(tmp_path: Path) -> None:
    params = changed(ml_contract.PARAM_THRESHOLD, "high")
    params["model"]["name"] = 7
    path = write(tmp_path, params)

    with pytest.raises(ParamsError) as raised:
        load(path)

    assert str(raised.value) == (
        f"{path}: model.name = 7 is not valid: a registered model name: "
        f"{ml_contract.MODEL_NAME_RULE}; promotion.threshold = 'high' is not valid: a number")


@pytest.mark.parametrize(("text", "problem"), [
    pytest.param("project: [unclosed\n", "is not valid YAML: expected ',' or ']', but got "
                 "'<stream end>' at line 2, column 1", id="broken-yaml"),
    pytest.param("- project\n- model\n", "must be a mapping of the sections project, model, "
                 "promotion", id="a-list"),
    pytest.param("", "must be a mapping of the sections project, model, promotion", id="empty"),
])
def test_a_file_that_is_no_mapping_is_one_line(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "params.yaml").write_text(text)

    with pytest.raises(ParamsError) as raised:
        load(tmp_path / "params.yaml")

    assert str(raised.value) == f"{tmp_path / 'params.yaml'} {problem}"


def project_with_schema(root: Path, schema: str, params: dict[str, Any]) -> Path:
    package = root / "src" / "churn"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "params.py").write_text(schema)
    write(root, params)
    return root


def test_a_project_is_opened_with_its_own_schema(tmp_path: Path) -> None:
    project = project_with_schema(tmp_path, PROJECT_SCHEMA, changed("train.C", -1.0))

    with pytest.raises(ParamsError) as raised:
        Project.open(project)

    assert str(raised.value) == (f"{project / 'params.yaml'}: train.C = -1.0 is not valid: "
                                 "a number above 0")
    assert "churn" not in sys.modules  # loaded from its file, not imported as the package


def test_the_projects_schema_types_its_own_keys(tmp_path: Path) -> None:
    project = Project.open(project_with_schema(tmp_path, PROJECT_SCHEMA, VALID))

    assert type(project.params).__name__ == "Params"
    assert isinstance(project.params, PlatformParams)
    assert project.params.train.C == 1.0  # type: ignore[attr-defined]


def test_a_schema_that_cannot_load_is_one_line(tmp_path: Path) -> None:
    project = project_with_schema(tmp_path, "import nowhere_to_be_found\n", VALID)

    with pytest.raises(ParamsError) as raised:
        Project.open(project)

    assert str(raised.value) == (
        f"{project / 'src' / 'churn' / 'params.py'} (the project's params schema) cannot be "
        "loaded: ModuleNotFoundError: No module named 'nowhere_to_be_found'")
