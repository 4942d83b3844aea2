"""Every cookiecutter variable is checked, and each problem names the variable and the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

from mlops_platform.contract import OUTPUT_KEYS
from mlops_platform.scaffold.options import (
    CI_PROVIDERS,
    FEATURE_STORES,
    MATURITY_LEVELS,
    PRIMARY_METRICS,
    PYTHON_VERSIONS,
    OptionError,
    check_options,
)
from tests.template.baking import TEMPLATE_DIR

COOKIECUTTER_JSON = TEMPLATE_DIR / "cookiecutter.json"
EXAMPLE_NAME = "Breast Cancer Classifier"

GOOD = {
    "project_name": "Churn Model", "project_slug": "churn-model", "package_name": "churn_model",
    "description": "Predicts churn.", "author": "Data Team", "maturity_level": "1",
    "ci_provider": "github", "python_version": "3.11", "model_name": "churn_model",
    "primary_metric": "roc_auc", "promotion_threshold": "0.9", "dataset": "breast_cancer",
    "target_column": "target", "platform_outputs": "local",
    "platform_repo": "your-org/mlops-platform-template", "platform_version": "v0.1.0",
    "platform_package": "local", "platform_stack_prefix": "organization/mlops-platform",
    "_repo_dir": str(TEMPLATE_DIR),
}


def problems_of(**changes: str) -> list[str]:
    try:
        check_options({**GOOD, **changes})
    except OptionError as err:
        return err.problems
    return []


def test_the_defaults_pass() -> None:
    assert problems_of() == []


@pytest.mark.parametrize(("changes", "expected"), [
    pytest.param({"project_name": ""}, "project_name='' is not allowed", id="empty-name"),
    pytest.param({"project_name": "9 lives"}, "starting with a letter", id="name-digit-first"),
    pytest.param({"project_name": "x" * 33}, "at most 32 characters", id="name-too-long"),
    pytest.param({"project_slug": "Churn Model"}, "project_slug='Churn Model'", id="bad-slug"),
    pytest.param({"package_name": "class"}, "package_name='class' is not a Python identifier",
                 id="keyword-package"),
    pytest.param({"package_name": "churn.model"}, "package_name='churn.model'", id="dotted-pkg"),
    pytest.param({"maturity_level": "3"},
                 "maturity_level='3' is not allowed: choose one of 0, 1, 2", id="unknown-level"),
    pytest.param({"ci_provider": "jenkins"},
                 "ci_provider='jenkins' is not allowed: choose one of github, gitlab",
                 id="unknown-provider"),
    pytest.param({"promotion_threshold": "1.5"}, "promotion_threshold='1.5' is not allowed: "
                 "a number between 0 and 1", id="threshold-above-one"),
    pytest.param({"promotion_threshold": "-0.1"}, "a number between 0 and 1",
                 id="threshold-below-zero"),
    pytest.param({"promotion_threshold": "high"}, "a number between 0 and 1", id="threshold-text"),
    pytest.param({"primary_metric": "mse"}, "primary_metric='mse' is not allowed: choose one of",
                 id="unknown-metric"),
    pytest.param({"feature_store": "hopsworks"},
                 "feature_store='hopsworks' is not allowed: choose one of none, feast",
                 id="unknown-feature-store"),
    pytest.param({"model_name": "my model"}, "model_name='my model'", id="model-name-space"),
    pytest.param({"description": 'say "hi"'}, "description must be one non-empty line",
                 id="quoted-description"),
    pytest.param({"author": ""}, "author must be", id="empty-author"),
    pytest.param({"dataset": "iris"}, "dataset='iris' is not allowed: use breast_cancer or the "
                 "path of a CSV file", id="unknown-dataset"),
    pytest.param({"platform_repo": "no-slash"}, "platform_repo='no-slash'", id="bad-repo"),
    pytest.param({"platform_version": ""}, "platform_version=''", id="empty-version"),
    pytest.param({"platform_stack_prefix": "org/proj/dev"}, "platform_stack_prefix='org/proj/dev'",
                 id="stack-prefix-with-stack"),
])
def test_a_bad_variable_is_named_with_what_it_accepts(changes: dict[str, str],
                                                      expected: str) -> None:
    problems = problems_of(**changes)
    assert len(problems) == 1, problems
    assert expected in problems[0]


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("Mlflow", "package_name='mlflow' would hide the dependency mlflow from the "
                 "project's code: choose another project_name (e.g. 'Mlflow Model') or set "
                 "package_name", id="dependency"),
    pytest.param("sklearn", "package_name='sklearn' would hide sklearn, the module of the "
                 "dependency scikit-learn,", id="import-name-of-dependency"),
    pytest.param("yaml", "package_name='yaml' would hide yaml, the module of the dependency "
                 "pyyaml,", id="import-name-of-pyyaml"),
    pytest.param("json", "package_name='json' would hide the standard-library module json",
                 id="standard-library"),
    pytest.param("Mlops Platform", "package_name='mlops_platform' would hide the dependency "
                 "mlops-platform", id="platform-package"),
    pytest.param("Scikit Learn", "project_slug='scikit-learn' is the name of the dependency "
                 "scikit-learn, which `make venv` would replace with the project",
                 id="distribution-name"),
])
def test_a_name_that_would_shadow_a_dependency_is_refused(name: str, expected: str) -> None:
    slug = name.lower().replace(" ", "-")
    problems = problems_of(project_name=name, project_slug=slug,
                           package_name=slug.replace("-", "_"))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected)


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(maturity_level="5", ci_provider="svn", promotion_threshold="2")
    assert [problem.split("=")[0] for problem in problems] == [
        "maturity_level", "ci_provider", "promotion_threshold"]


def test_a_missing_outputs_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    [problem] = problems_of(platform_outputs=str(missing))
    assert problem.startswith(f"platform_outputs={str(missing)!r}")
    assert "does not exist" in problem


def test_an_outputs_file_without_the_contract_keys_is_refused(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"tracking_uri": "http://127.0.0.1:5000"}))
    [problem] = problems_of(platform_outputs=str(outputs))
    assert "does not match the contract" in problem
    assert all(key in problem for key in OUTPUT_KEYS)


def test_a_relative_outputs_path_is_relative_to_the_output_dir(tmp_path: Path) -> None:
    outputs = {key: "local" for key in OUTPUT_KEYS}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    assert problems_of(platform_outputs="outputs.json", _output_dir=str(tmp_path)) == []


def test_a_csv_without_the_target_column_lists_its_columns(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n" + "1,2\n" * 30)
    [problem] = problems_of(dataset=str(data), target_column="label")
    assert problem == f"target_column='label' is not a column of dataset {data}: choose one of a, b"


def test_a_csv_too_small_to_train_on_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,target\n1,0\n2,1\n")
    [problem] = problems_of(dataset=str(data))
    assert "has 2 rows: a model needs at least 20" in problem


def test_an_unreadable_csv_is_named(tmp_path: Path) -> None:
    [problem] = problems_of(dataset=str(tmp_path / "missing.csv"))
    assert problem.startswith(f"dataset={str(tmp_path / 'missing.csv')!r} cannot be read")


def template_variables() -> dict:
    return json.loads(COOKIECUTTER_JSON.read_text())


@pytest.mark.parametrize(("name", "allowed"), [
    ("maturity_level", MATURITY_LEVELS), ("ci_provider", CI_PROVIDERS),
    ("python_version", PYTHON_VERSIONS), ("primary_metric", PRIMARY_METRICS),
    ("feature_store", FEATURE_STORES),
])
def test_each_choice_defaults_to_its_first_value_and_its_prompt_lists_them(
    name: str, allowed: tuple[str, ...]
) -> None:
    """Plain variables, not cookiecutter choices: a bad value reaches the hook, which reports
    it with the others (a choice fails in cookiecutter, alone, with a traceback)."""
    variables = template_variables()
    assert variables[name] == allowed[0]
    prompt = variables["__prompts__"][name]
    listed = [word for word in re.findall(r"[\w.]+", prompt) if word in allowed]
    assert listed == list(allowed), prompt


def rendered_answers(**extra_context: str) -> dict:
    context = generate_context(context_file=str(COOKIECUTTER_JSON), extra_context=extra_context)
    return prompt_for_config(context, no_input=True)


def test_the_example_keeps_its_description() -> None:
    answers = rendered_answers()
    assert answers["project_name"] == EXAMPLE_NAME
    assert answers["description"].startswith("Predicts whether a breast tumour is malignant")


def test_a_new_project_name_gets_a_description_of_its_own() -> None:
    description = rendered_answers(project_name="Churn Model")["description"]
    assert description.startswith("Churn Model: ")
    assert "breast" not in description.lower()
    assert problems_of(description=description) == []
