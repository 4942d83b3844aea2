"""Bad variables on the real cookiecutter command line: one clear message, no directory left."""

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
                 "3 provided for choice variable maturity_level, but the choices are "
                 "['0', '1', '2']", id="unknown-level"),
    pytest.param(["ci_provider=jenkins"],
                 "jenkins provided for choice variable ci_provider, but the choices are "
                 "['github', 'gitlab']", id="unknown-provider"),
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
