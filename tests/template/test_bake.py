"""Every maturity level x CI provider bakes into a clean, committed, lint-free, tested project."""

from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from dvc.repo import Repo

from mlops_platform import api
from mlops_platform import contract as ml_contract
from mlops_platform.contract import PlatformOutputs, read_outputs
from tests.template.baking import (
    DEFAULT_PACKAGE,
    LEVELS,
    PROVIDERS,
    REPO_ROOT,
    VENV,
    bake,
    expected_files,
    leftover_template_syntax,
    make,
    tracked_files,
)

OUTPUTS = PlatformOutputs(
    tracking_uri="http://127.0.0.1:5999", registry_uri="http://127.0.0.1:5999",
    artifact_store_uri="file:///srv/mlops/artifacts", environment="staging", namespace="ml-staging",
)


@dataclass(frozen=True)
class Baked:
    project: Path
    level: str
    provider: str


@pytest.fixture(scope="module")
def outputs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outputs") / "outputs.json"
    OUTPUTS.write(path)
    return path


class Bakery:
    """Bakes each level x provider once per module; tests share the result read-only."""

    def __init__(self, base: Path, outputs_file: Path) -> None:
        self.base, self.outputs_file = base, outputs_file
        self.baked: dict[tuple[str, str], Baked] = {}

    def get(self, level: str, provider: str) -> Baked:
        if (level, provider) not in self.baked:
            project = bake(self.base / f"{level}-{provider}", maturity_level=level,
                           ci_provider=provider, platform_outputs=str(self.outputs_file))
            self.baked[level, provider] = Baked(project, level, provider)
        return self.baked[level, provider]


@pytest.fixture(scope="module")
def bakery(tmp_path_factory: pytest.TempPathFactory, outputs_file: Path) -> Bakery:
    return Bakery(tmp_path_factory.mktemp("bakery"), outputs_file)


@pytest.fixture(scope="module", params=[
    pytest.param((level, provider), id=f"level{level}-{provider}")
    for level in LEVELS for provider in PROVIDERS
])
def baked(request: pytest.FixtureRequest, bakery: Bakery) -> Baked:
    return bakery.get(*request.param)


def test_the_project_holds_exactly_the_expected_files(baked: Baked) -> None:
    assert tracked_files(baked.project) == expected_files(baked.level, baked.provider)


def test_everything_is_in_the_first_commit(baked: Baked) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=baked.project, capture_output=True, text=True,
                              check=True).stdout

    assert git("status", "--porcelain") == ""
    assert git("log", "--format=%s").splitlines() == [
        "Scaffold the project from the MLOps platform template"]
    assert git("branch", "--show-current").strip() == "main"


def test_no_template_syntax_is_left(baked: Baked) -> None:
    assert leftover_template_syntax(baked.project) == {}


def platform_imports(project: Path) -> dict[str, set[str]]:
    """Every module of the platform package a project's Python files import, with the names
    each takes from it."""
    found: dict[str, set[str]] = {}
    for path in project.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = {node.module: {alias.name for alias in node.names}}
            elif isinstance(node, ast.Import):
                modules = {alias.name: set() for alias in node.names}
            else:
                continue
            for module, names in modules.items():
                if module.split(".")[0] == "mlops_platform":
                    found.setdefault(module, set()).update(names)
    return found


PYTHON_M = re.compile(r"-m (mlops_platform[\w.]*)")


def test_the_project_imports_only_the_platforms_public_api(baked: Baked) -> None:
    imports = platform_imports(baked.project)
    assert set(imports) == {"mlops_platform.api"}
    assert imports["mlops_platform.api"] <= set(api.__all__)
    # What its Makefile and CI run with `python -m` is part of the same promise.
    commands = {match for path in baked.project.rglob("*") if path.is_file()
                and ".git" not in path.parts
                for match in PYTHON_M.findall(path.read_text(errors="replace"))}
    assert commands and commands <= set(api.COMMANDS)


def test_ruff_passes_on_the_result(baked: Baked) -> None:
    result = subprocess.run([str(VENV / "bin" / "ruff"), "check", "."],
                            cwd=baked.project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.slow  # the baked project's own test suite
def test_the_projects_own_tests_pass(bakery: Bakery) -> None:
    result = make(bakery.get("2", "gitlab").project, "test")
    assert re.search(r"\b2[0-9] passed\b", result.stdout), result.stdout


def test_every_combination_runs_the_same_tested_code(bakery: Bakery) -> None:
    """Level and provider change only the pipeline, Makefile, CI and deploy files, never the
    code or its tests: the tests that passed above are the tests of every combination."""
    def code_of(baked: Baked) -> dict[str, str]:
        return {str(path.relative_to(baked.project)): path.read_text()
                for folder in ("src", "tests") for path in (baked.project / folder).rglob("*.py")}

    reference = code_of(bakery.get("2", "gitlab"))
    for level in LEVELS:
        for provider in PROVIDERS:
            assert code_of(bakery.get(level, provider)) == reference, (level, provider)


def test_dvc_has_analytics_off_and_the_platform_as_remote(baked: Baked) -> None:
    with Repo(str(baked.project)) as repo:
        config = repo.config  # validated and merged, as DVC reads it
    assert config["core"]["analytics"] is False
    assert config["core"]["remote"] == "platform"
    assert config["remote"]["platform"]["url"] == "/srv/mlops/artifacts/dvc"


def test_the_platform_outputs_are_the_given_ones(baked: Baked) -> None:
    assert read_outputs(baked.project / "platform_outputs.json") == OUTPUTS


def test_params_hold_every_key_the_gate_reads(baked: Baked) -> None:
    params = yaml.safe_load((baked.project / "params.yaml").read_text())
    keys = (ml_contract.PARAM_MATURITY_LEVEL, ml_contract.PARAM_MODEL_NAME,
            ml_contract.PARAM_PRIMARY_METRIC, ml_contract.PARAM_THRESHOLD,
            ml_contract.PARAM_TOLERANCE, ml_contract.PARAM_HIGHER_IS_BETTER)
    for key in keys:
        value = params
        for part in key.split("."):
            value = value[part]
    assert params["project"]["maturity_level"] == int(baked.level)
    assert params["model"]["name"] == DEFAULT_PACKAGE
    assert params["data"]["sample_fraction"] == 1.0


def test_promotion_is_a_stage_from_level_one(baked: Baked) -> None:
    stages = list(yaml.safe_load((baked.project / "dvc.yaml").read_text())["stages"])
    expected = ["prepare", "validate", "tune", "train", "evaluate", "register"]
    assert stages == expected + (["promote"] if baked.level != "0" else [])


def test_deploy_targets_exist_only_at_level_two(baked: Baked) -> None:
    targets = set(re.findall(r"^([a-z-]+):", (baked.project / "Makefile").read_text(), re.M))
    common = {"venv", "lint", "test", "check", "pipeline", "pipeline-sample", "metrics-diff",
              "promote", "approve", "serve", "drift", "labels", "retrain"}
    assert common <= targets
    assert ({"deploy", "rollback", "canary"} <= targets) == (baked.level == "2")


def test_the_approver_is_data_never_run_by_the_shell(baked: Baked, tmp_path: Path) -> None:
    planted = tmp_path / "planted"
    for name in (f"`touch {planted}`", f"$(touch {planted})", f'a" ; touch {planted} ; "b',
                 f"$(shell touch {planted})"):  # make's own function, too
        make(baked.project, "approve", f"APPROVER={name}", check=False)
    assert not planted.exists()


def test_help_lists_the_targets_with_the_level_spelled_out(baked: Baked) -> None:
    listing = make(baked.project, "help").stdout
    assert f"which controls of level {baked.level} pass" in listing
    assert "$(LEVEL)" not in listing
    assert re.search(r"^  serve +serve the champion locally \(PORT=", listing, re.M)


def test_serve_takes_the_ports_given_else_free_ones(baked: Baked) -> None:
    module = f"{DEFAULT_PACKAGE}.serve"
    assert f"{module} --port 8123 --metrics-port 9123" in make(
        baked.project, "serve", "PORT=8123", "METRICS_PORT=9123", "-n").stdout
    assert f"{module} --port 0 --metrics-port 0" in make(baked.project, "serve", "-n").stdout


def test_the_project_installs_from_the_platform_locks(baked: Baked) -> None:
    """No version is written twice: the project's locks are the platform's, byte for byte."""
    project = baked.project
    assert (project / "requirements.lock").read_text() == (
        REPO_ROOT / "requirements/project.txt").read_text()
    assert (project / "requirements-serving.lock").read_text() == (
        REPO_ROOT / "requirements/mlserver.txt").read_text()
    assert (project / "requirements-bootstrap.lock").read_text() == (
        REPO_ROOT / "requirements/bootstrap.txt").read_text()
    requirement = (project / "requirements-platform.txt").read_text().splitlines()[-1]
    assert requirement == f"mlops-platform[drift,serving] @ {REPO_ROOT.resolve().as_uri()}"
    assert "==" not in (project / "pyproject.toml").read_text()


def test_a_named_platform_release_is_installed_as_given(tmp_path: Path) -> None:
    project = bake(tmp_path, platform_package="mlops-platform==0.1.0")
    assert (project / "requirements-platform.txt").read_text().splitlines()[-1] == (
        "mlops-platform==0.1.0")


def test_a_csv_data_set_is_copied_under_dvc(tmp_path: Path, outputs_file: Path) -> None:
    data = tmp_path / "patients.csv"
    data.write_text("age,smoker,label\n" + "".join(f"{20 + i},{'yes' if i % 3 else 'no'},{i % 2}\n"
                                                    for i in range(40)))
    project = bake(tmp_path / "out", dataset=str(data), target_column="label",
                   platform_outputs=str(outputs_file))
    assert tracked_files(project) == expected_files("0", "github", raw_data="patients.csv")
    assert (project / "data/raw/patients.csv").read_text() == data.read_text()
    contract = yaml.safe_load((project / "data_contract.yaml").read_text())
    assert contract["target"] == "label"
    assert contract["columns"][1] == {"name": "smoker", "nullable": False, "dtype": "str",
                                      "allowed": ["no", "yes"]}
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["data"]["source"] == "data/raw/patients.csv"
    assert params["data"]["target"] == "label"
