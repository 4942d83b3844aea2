"""The layout stays as the README draws it: import directions, isolation, the wheel's content."""

from __future__ import annotations

import configparser
import os
import pkgutil
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

import mlops_platform
from mlops_platform import contract
from policies.platform_pack.platform_rules import conventions

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SITE_PACKAGES = Path(yaml.__file__).resolve().parent.parent
# Analyse this tree's sources (infra/ and policies/ are folders at its root), not an install.
SOURCE_PATH = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")])

# Runs in `python -I -S`: imports sys.argv[1] with only the standard library and the modules
# matching the patterns sys.argv[4:] importable, from sys.argv[2] (src) and sys.argv[3].
ISOLATED_IMPORT = """
import fnmatch, importlib, sys

module, src, site_packages, *allowed = sys.argv[1:]

class OnlyAllowed:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in sys.stdlib_module_names:
            return None
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed):
            return None
        raise ModuleNotFoundError(f"{name} is not importable here (importing {module})", name=name)

sys.meta_path.insert(0, OnlyAllowed())
sys.path[:0] = [src, site_packages]
importlib.import_module(module)
"""

CONTRACT_ONLY = ("mlops_platform", "mlops_platform.contract")
# The hooks run in a plain cookiecutter: of what it brings, the scaffold may use PyYAML.
SCAFFOLD_ONLY = (*CONTRACT_ONLY, "mlops_platform.scaffold", "mlops_platform.scaffold.*",
                 "yaml", "yaml.*", "_yaml")


def import_isolated(module: str, allowed: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", ISOLATED_IMPORT, module,
         str(REPO_ROOT / "src"), str(SITE_PACKAGES), *allowed],
        capture_output=True, text=True, timeout=60,
    )


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "lint-imports"), "--no-cache", "--no-logo"],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": SOURCE_PATH},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout
    assert "mlops_platform's layers" in result.stdout and "no import circle" in result.stdout


def test_every_part_of_the_package_has_a_layer() -> None:
    """A module left out of the layers contract could import anything: none is."""
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / ".importlinter")
    layers = config["importlinter:contract:package-layers"]["layers"]
    listed = {name.strip() for line in layers.splitlines()
              if line.strip() and not line.strip().startswith("#")
              for name in line.split("|")}
    parts = {module.name for module in pkgutil.iter_modules(mlops_platform.__path__)}
    assert listed == parts


@pytest.mark.parametrize(("module", "allowed"), [
    ("mlops_platform.contract", CONTRACT_ONLY),
    ("mlops_platform.scaffold.hooks", SCAFFOLD_ONLY),
    # Imported by the serving runtime in MLServer's environment, where the package's
    # dependencies are not installed.
    ("mlops_platform.prediction_log", ("mlops_platform", "mlops_platform.prediction_log")),
    # Likewise.
    ("mlops_platform.traffic_split", ("mlops_platform", "mlops_platform.traffic_split")),
    ("mlops_platform.model_digest", ("mlops_platform", "mlops_platform.model_digest")),
], ids=["contract-stdlib-only", "scaffold-in-plain-cookiecutter", "prediction-log-stdlib-only",
        "traffic-split-stdlib-only", "model-digest-stdlib-only"])
def test_module_imports_with_only_what_its_users_have(
    module: str, allowed: tuple[str, ...]
) -> None:
    result = import_isolated(module, allowed)
    assert result.returncode == 0, result.stderr


def test_the_isolated_import_refuses_what_is_not_allowed() -> None:
    result = import_isolated("yaml", CONTRACT_ONLY)
    assert result.returncode != 0
    assert "yaml is not importable here" in result.stderr


def test_the_wheel_installs_only_mlops_platform(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy2(REPO_ROOT / "pyproject.toml", project)
    shutil.copy2(REPO_ROOT / "README.md", project)
    result = subprocess.run(
        [str(VENV_BIN / "uv"), "build", "--wheel", "--offline", "--no-build-isolation",
         "--python", sys.executable, "--out-dir", str(tmp_path / "dist"), str(project)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mlops_platform/contract.py" in names
    top_level = {name.split("/")[0] for name in names}
    assert {top for top in top_level if not top.endswith(".dist-info")} == {"mlops_platform"}


def test_the_packs_copy_of_the_shared_names_equals_the_contract() -> None:
    # The pack is published alone, so it keeps its own copy of the names it reads.
    copied = {name: value for name, value in vars(conventions).items() if name.isupper()}
    assert set(copied) >= {"APPROVED_BY_ANNOTATION", "MODEL_URI_ENV", "POD_SECURITY_ENFORCE_LABEL"}
    assert copied == {name: getattr(contract, name, None) for name in copied}
