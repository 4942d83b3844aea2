"""The one module generated projects import (mlops_platform.api): every name resolves, an
unknown one says what there is, a deprecated one still works and warns, and importing it
costs nothing until a name is used. That a baked project imports nothing else is in
test_bake.py."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

from mlops_platform import api


@pytest.mark.parametrize("name", api.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(api, name) is not None


def test_an_unknown_name_is_an_error_that_lists_the_public_ones() -> None:
    with pytest.raises(AttributeError, match=r"has no 'champion_guard'.*drift_cli"):
        api.champion_guard  # noqa: B018


def test_a_deprecated_name_works_and_warns_with_its_replacement(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(api.DEPRECATED, "run_drift_check", "drift_cli")
    with pytest.warns(DeprecationWarning, match="run_drift_check is deprecated: use drift_cli"):
        found = api.run_drift_check
    assert found is api.drift_cli
    assert "run_drift_check" in dir(api)


def test_the_checks_agree_on_the_exit_status_of_could_not_check() -> None:
    from mlops_platform import ab_test, canary, labelled_data

    assert api.UNCHECKED == ab_test.UNCHECKED == canary.UNCHECKED == labelled_data.UNUSABLE == 2


def test_importing_it_and_the_contract_imports_no_heavy_package() -> None:
    code = ("import sys\nfrom mlops_platform.api import contract, read_outputs\n"
            "print(sorted(m for m in ('mlflow', 'pandas', 'evidently', 'sklearn') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("module", api.COMMANDS)
def test_every_command_a_project_runs_has_a_main(module: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert callable(importlib.import_module(module).main)
