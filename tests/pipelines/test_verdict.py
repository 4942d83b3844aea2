"""The verdict recorder: a check's three exit codes become two verdicts CI branches on, and a
red job when the check could not decide. Real child processes, real files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlops_platform.ci.verdict import HEALTHY, RETRAIN, VERDICT_KEY, main


def check_exiting(status: int) -> list[str]:
    return [sys.executable, "-c", f"raise SystemExit({status})"]


@pytest.mark.parametrize(("status", "verdict"), [(0, HEALTHY), (1, RETRAIN)])
def test_a_verdict_is_appended_and_the_step_passes(tmp_path: Path, status: int,
                                                   verdict: str) -> None:
    output = tmp_path / "github_output"
    output.write_text("earlier=kept\n")  # GitHub's file holds the job's other step outputs
    assert main(["--output", str(output), "--", *check_exiting(status)]) == 0
    assert output.read_text() == f"earlier=kept\n{VERDICT_KEY}={verdict}\n"


@pytest.mark.parametrize("status", [2, 3, 137])
def test_a_check_that_could_not_decide_records_nothing_and_fails(
        tmp_path: Path, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "verdict.env"
    assert main(["--output", str(output), "--", *check_exiting(status)]) == 2
    assert not output.exists()
    error = capsys.readouterr().err
    assert f"could not check (exit {status}" in error
    assert "nothing is retrained" in error


def test_the_key_can_be_named(tmp_path: Path) -> None:
    output = tmp_path / "verdict.env"
    assert main(["--output", str(output), "--key", "PERFORMANCE", "--",
                 *check_exiting(1)]) == 0
    assert output.read_text() == f"PERFORMANCE={RETRAIN}\n"


def test_a_check_that_cannot_start_fails_naming_it(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "verdict.env"
    assert main(["--output", str(output), "--", str(tmp_path / "no-such-check")]) == 2
    assert not output.exists()
    assert "cannot run" in capsys.readouterr().err


def test_no_check_is_refused_with_an_example(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--output", str(tmp_path / "verdict.env")])
    assert raised.value.code == 2
    assert "give it after --" in capsys.readouterr().err
