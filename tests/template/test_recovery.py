"""The pipeline stops cleanly: without a tracking server, and on data that breaks its contract.

Both on the recovery project (tests/template/recovery.py): its server was killed between
training and registration and came back; then its data set is corrupted. This module
runs after test_pipeline.py, which checks the same project's regular results first.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mlops_platform import contract as ml_contract
from tests.template.baking import make
from tests.template.recovery import Recovery

pytestmark = pytest.mark.slow


def test_a_killed_server_stops_the_pipeline_saying_how_to_start_it(recovery: Recovery) -> None:
    result = recovery.failed_while_down
    assert result.returncode != 0
    assert (f"error: register stopped: no local platform answers at "
            f"{recovery.down_outputs.tracking_uri}: start it with `make platform-up` in the "
            "platform repository\n") in result.stderr
    assert recovery.versions_while_down == []  # nothing registered


def test_once_the_server_is_back_the_pipeline_registers_exactly_once(recovery: Recovery) -> None:
    assert "Running stage 'register'" in recovery.rerun.stdout
    assert "Running stage 'train'" not in recovery.rerun.stdout  # the trained run is kept
    assert recovery.versions() == ["1"]
    assert recovery.aliases() == {ml_contract.ALIAS_CHALLENGER: "1",
                                  ml_contract.ALIAS_CHAMPION: "1"}  # level 1: the gate promoted


def corrupted(frame: pd.DataFrame) -> pd.DataFrame:
    """Nulls in one column, out-of-range values in another, a third column gone."""
    broken = frame.drop(columns=["mean area"])
    broken.loc[broken.index[:5], "mean radius"] = None
    broken.loc[broken.index[:3], "mean texture"] = -5.0
    return broken


def test_corrupted_data_stops_at_prepare_naming_each_column(recovery: Recovery) -> None:
    runs, versions, aliases = recovery.run_count(), recovery.versions(), recovery.aliases()
    corrupted(recovery.clean).to_csv(recovery.raw_csv, index=False)
    result = make(recovery.project, "pipeline", check=False)
    assert result.returncode != 0
    # Before the prepared data exists: nothing of it reaches dvc.lock or the DVC cache.
    assert f"error: prepare stopped: data/raw/{recovery.dataset} breaks the data contract" in (
        result.stderr)
    # Validation is lazy: one run names every broken column.
    for problem in ("column 'mean radius': has nulls",
                    "column 'mean texture': values out of range",
                    "column 'mean area': missing"):
        assert problem in result.stderr
    assert "Running stage 'train'" not in result.stdout
    assert recovery.run_count() == runs  # nothing trained
    assert recovery.versions() == versions  # nothing registered
    assert recovery.aliases() == aliases  # champion and challenger unchanged
