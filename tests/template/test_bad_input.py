"""Bad variables on the real cookiecutter command line: one line each, no directory left."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.template.baking import bake_cli

CASES = [
    pytest.param(["project_name="], "error: project_name='' is not allowed", id="empty-name"),
    pytest.param(["project_name=class"], "error: package_name='class' is not a Python identifier",
                 id="keyword-package"),
    pytest.param(["promotion_threshold=1.5"],
                 "error: promotion_threshold='1.5' is not allowed: a number between 0 and 1",
                 id="threshold-out-of-range"),
    pytest.param(["maturity_level=3"],
                 "error: maturity_level='3' is not allowed: choose one of 0, 1, 2",
                 id="unknown-level"),
    pytest.param(["ci_provider=jenkins"],
                 "error: ci_provider='jenkins' is not allowed: choose one of github, gitlab",
                 id="unknown-provider"),
    pytest.param(["project_name=Mlflow"],
                 "error: package_name='mlflow' would hide the dependency mlflow",
                 id="shadows-a-dependency"),
    pytest.param(["platform_outputs={missing}"],
                 "error: platform_outputs='{missing}': platform outputs file {missing} does not "
                 "exist", id="unreadable-outputs-file"),
]


@pytest.mark.parametrize(("assignments", "message"), CASES)
def test_bad_input_names_the_variable_and_leaves_nothing(tmp_path: Path, assignments: list[str],
                                                         message: str) -> None:
    missing = str(tmp_path / "no-outputs.json")
    out = tmp_path / "out"
    out.mkdir()
    result = bake_cli(out, *(a.format(missing=missing) for a in assignments))
    assert result.returncode != 0
    assert message.format(missing=missing) in result.stderr + result.stdout
    assert list(out.iterdir()) == []


def test_every_bad_value_is_one_line_and_nothing_else(tmp_path: Path) -> None:
    """A bad choice among them: all reported together, no traceback, no directory."""
    result = bake_cli(tmp_path, "project_name=Mlflow", "maturity_level=7", "python_version=3.9",
                      "primary_metric=mse", "promotion_threshold=2")
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "error: package_name='mlflow' would hide the dependency mlflow from the project's "
        "code: choose another project_name (e.g. 'Mlflow Model') or set package_name",
        "error: maturity_level='7' is not allowed: choose one of 0, 1, 2",
        "error: python_version='3.9' is not allowed: choose one of 3.11, 3.12",
        "error: primary_metric='mse' is not allowed: choose one of roc_auc, f1, accuracy, "
        "precision, recall",
        "error: promotion_threshold='2' is not allowed: a number between 0 and 1 (e.g. 0.9)",
        "Nothing was generated; fix the variables above and run cookiecutter again.",
    ]
    assert result.stdout.splitlines() == ["Hook script failed (exit status: 1)"]
    assert list(tmp_path.iterdir()) == []
