"""The probe cache of `mlops-policy check`: an unchanged project reuses the outcomes of its
probes; a change re-runs the probes that can read it; CI and the library never use it."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from mlops_platform.governance import probes
from mlops_platform.governance.checker import check_project
from mlops_platform.governance.probe_cache import ProbeCache, default_directory
from mlops_platform.governance.scorecard_report import print_summary
from tests.governance.project_trees import bake

PACKAGE = "breast_cancer_classifier"


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bake(tmp_path_factory.mktemp("cached"), 0, "github")


@pytest.fixture
def project(baked: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(baked, tmp_path / baked.name, symlinks=True))


class FakeProbes:
    """The project's tests and steps, recorded instead of run (they take minutes); `dvc
    status` (never cached) answered at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs: list[str] = []
        monkeypatch.setattr(probes, "run_tests", self.run_tests)
        monkeypatch.setattr(probes, "run_step", self.run_step)
        monkeypatch.setattr(probes, "dvc_status", lambda root: ({}, "dvc status"))

    def run_tests(self, copy: Path, python: str, *arguments: str,
                  env: dict[str, str] | None = None) -> probes.TestRun:
        self.runs.append("pytest " + " ".join(arguments))
        return probes.TestRun(passed=3, failed=1 if arguments else 0, skipped=0,
                              returncode=1 if arguments else 0, tail="")

    def run_step(self, copy: Path, python: str, module: str) -> subprocess.CompletedProcess:
        self.runs.append(module)
        return subprocess.CompletedProcess([module], 1, "", "refused")


def checked(project: Path, cache: ProbeCache, fakes: FakeProbes) -> tuple[list[str], str]:
    """(what ran, the short answer) of one check with probes on and no registry."""
    fakes.runs.clear()
    card = check_project(project, use_tracking=False, run_probes=True, cache=cache)
    out = io.StringIO()
    print_summary(card, Console(file=out, width=200))
    return sorted(fakes.runs), out.getvalue()


def test_a_second_check_of_an_unchanged_project_reuses_every_probe(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes, cache = FakeProbes(monkeypatch), ProbeCache(tmp_path / "cache")

    first_runs, first = checked(project, cache, fakes)
    second_runs, second = checked(project, cache, fakes)

    assert "pytest " in first_runs and f"{PACKAGE}.prepare" in first_runs
    assert "reused from the cache" not in first
    assert second_runs == []
    reused = re.search(rf"(\d+) probe outcomes reused from the cache in {cache.directory}",
                       second)
    assert reused and int(reused.group(1)) >= len(set(first_runs))
    assert first.splitlines()[:5] == second.splitlines()[:5]  # same verdict, level by level


def test_a_changed_source_file_runs_the_probes_again(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes, cache = FakeProbes(monkeypatch), ProbeCache(tmp_path / "cache")
    first_runs, _ = checked(project, cache, fakes)
    features = project / "src" / PACKAGE / "features.py"
    features.write_text(features.read_text() + "\nTHRESHOLD = 1\n")

    runs, text = checked(project, cache, fakes)

    assert runs == first_runs
    assert "reused from the cache" not in text


def test_a_change_runs_again_only_the_probes_that_can_read_it(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes, cache = FakeProbes(monkeypatch), ProbeCache(tmp_path / "cache")
    first_runs, _ = checked(project, cache, fakes)
    (project / "README.md").write_text("# read by no probe\n")
    after_readme, _ = checked(project, cache, fakes)
    test_file = project / "tests" / "test_features.py"
    test_file.write_text(test_file.read_text() + "\n# a new comment\n")

    after_test, _ = checked(project, cache, fakes)

    assert after_readme == []
    assert after_test and all(run.startswith("pytest") for run in after_test)
    assert after_test == [run for run in first_runs if run.startswith("pytest")]


def test_without_a_cache_every_probe_runs(project: Path, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    fakes = FakeProbes(monkeypatch)
    monkeypatch.setenv("MLOPS_CHECK_CACHE", str(tmp_path / "cache"))
    check_project(project, use_tracking=False, run_probes=True)  # no cache, as the gate calls
    first = sorted(fakes.runs)

    again, _ = checked(project, None, fakes)

    assert first and again == first
    assert not (tmp_path / "cache").exists()


def test_ci_uses_no_cache_and_elsewhere_it_lives_outside_the_project(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLOPS_CHECK_CACHE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    local = default_directory()
    monkeypatch.setenv("CI", "true")

    assert local == tmp_path / "mlops-platform" / "check"
    assert default_directory() is None
