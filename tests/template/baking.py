"""Bake projects from the template with real cookiecutter and run their make targets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cookiecutter.main import cookiecutter

from mlops_platform import kfp_pipeline
from mlops_platform.scaffold.layout import unused_paths
from mlops_platform.scaffold.options import CI_PROVIDERS, MATURITY_LEVELS
from mlops_platform.scaffold.repository import initialise_project

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO_ROOT / "template"
PROJECT_TEMPLATE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
VENV = Path(sys.executable).parent.parent
COOKIECUTTER = Path(sys.executable).parent / "cookiecutter"
DEFAULT_SLUG = "breast-cancer-classifier"
DEFAULT_PACKAGE = "breast_cancer_classifier"
LEVELS = MATURITY_LEVELS
PROVIDERS = CI_PROVIDERS

# `{{`, `}}`, `{%`, `%}`, `{#` left by an unrendered template; `${{ }}` is CI syntax.
LEFTOVER_SYNTAX = re.compile(r"(?<!\$)\{\{|\{%|%\}|\{#")
CI_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
# KFP's executor-input placeholder in the compiled pipeline (kfp/pipeline.yaml).
KFP_PLACEHOLDER = re.compile(r"\{\{\$\}\}")


def bake(output_dir: Path, **context: str) -> Path:
    """`cookiecutter <repo> --no-input key=value...` through the root index, as users run it,
    then what the project's first `make venv` does before its first commit (in process:
    faster): from level 1 the pipeline compiled for Kubeflow Pipelines, then git and DVC."""
    project = Path(cookiecutter(str(REPO_ROOT), no_input=True, output_dir=str(output_dir),
                                extra_context=context))
    if context.get("maturity_level", "0") != "0":
        kfp_pipeline.compile_pipeline(kfp_pipeline.read_plan(project),
                                      project / kfp_pipeline.PIPELINE_FILE)
    initialise_project(project)
    return project


def bake_cli(output_dir: Path, *assignments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COOKIECUTTER), "--no-input", "--output-dir", str(output_dir), str(REPO_ROOT),
         *assignments],
        capture_output=True, text=True, timeout=120,
    )


def make(project: Path, target: str, *variables: str, check: bool = True,
         timeout: float = 300,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A make target of the baked project, in this environment (no per-project venv)."""
    result = subprocess.run(["make", "--no-print-directory", target, f"VENV={VENV}", *variables],
                            cwd=project, capture_output=True, text=True, timeout=timeout,
                            env=env)
    if check and result.returncode != 0:
        raise AssertionError(
            f"make {target} failed in {project}:\n{result.stdout}\n{result.stderr}")
    return result


def project_files(project: Path) -> set[str]:
    return {str(path.relative_to(project)) for path in project.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(project).parts[:1]}


def tracked_files(project: Path) -> set[str]:
    listing = subprocess.run(["git", "ls-files"], cwd=project, capture_output=True, text=True,
                             check=True).stdout
    return set(listing.split())


def leftover_template_syntax(project: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for relative in sorted(project_files(project)):
        text = (project / relative).read_text(errors="replace")
        hits = LEFTOVER_SYNTAX.findall(KFP_PLACEHOLDER.sub("", CI_EXPRESSION.sub("", text)))
        if hits:
            found[relative] = hits
    return found


def expected_files(level: str, provider: str, package: str = DEFAULT_PACKAGE,
                   raw_data: str | None = None) -> set[str]:
    """Exactly what a baked project commits to git (DVC keeps the raw data itself)."""
    files = {
        ".gitignore", ".pre-commit-config.yaml", ".dvcignore", ".dvc/.gitignore", ".dvc/config",
        "Makefile", "README.md", "pyproject.toml", "params.yaml", "dvc.yaml",
        "data_contract.yaml", "platform_outputs.json", ".cruft.json", "governance/audit.jsonl",
        "data/labelled.dvc",
        "requirements.lock", "requirements-serving.lock", "requirements-platform.txt",
        "requirements-bootstrap.lock",
        "tests/__init__.py", "tests/conftest.py", "tests/test_contract.py",
        "tests/test_features.py", "tests/test_model_quality.py", "tests/test_monitoring.py",
        "tests/test_platform.py",
    }
    modules = ("__init__", "ab_report", "canary", "contract", "data", "errors", "evaluate",
               "features", "labelled", "lineage", "model_card", "monitor", "params", "performance",
               "platform", "prepare", "promote", "records", "register", "score", "serve",
               "steps", "train", "tune", "validate")
    files |= {f"src/{package}/{module}.py" for module in modules}
    if raw_data:
        files |= {f"data/raw/{raw_data}.dvc", "data/raw/.gitignore"}
    if level != "0":
        files.add(kfp_pipeline.PIPELINE_FILE)
    return files | files_of_other_parts(level, provider)


def files_of_other_parts(level: str, provider: str) -> set[str]:
    """The CI files and deploy/ come from other parts of the template, once they exist."""
    roots = [".github"] if provider == "github" else [".gitlab-ci.yml"]
    if level == "2":
        roots += ["deploy", "canary.yaml"]
    found: set[str] = set()
    for root in roots:
        path = PROJECT_TEMPLATE / root
        if path.is_file():
            found.add(root)
        elif path.is_dir():
            found |= {str(file.relative_to(PROJECT_TEMPLATE)) for file in path.rglob("*")
                      if file.is_file()}
    unused = unused_paths(int(level), provider)
    return {file for file in found
            if not any(file == path or file.startswith(f"{path}/") for path in unused)}


# --- a project as a new user gets it: a plain cookiecutter, its own environment ---------------

PLAIN_COOKIECUTTER_VERSION = "2.7.1"


@dataclass(frozen=True)
class Standalone:
    project: Path
    env: dict[str, str]

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, cwd=self.project, env=self.env, capture_output=True,
                                text=True, timeout=900)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed (exit {result.returncode}):\n"
                                 f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result


def user_environment() -> dict[str, str]:
    """A shell with Python, git and make on PATH and nothing of this repository's set-up
    (no virtual environment, no PYTHONPATH); the user's pip settings and cache stay."""
    python_dir = Path(shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}")
                      or sys.executable).parent
    keep = {name: value for name, value in os.environ.items()
            if name.startswith(("PIP_", "PYENV", "SSL_", "REQUESTS_CA"))
            or name in ("HOME", "LANG")}
    return {**keep, "PATH": f"{python_dir}:/usr/local/bin:/usr/bin:/bin"}


def plain_cookiecutter(root: Path, env: dict[str, str]) -> Path:
    venv = root / "cookiecutter-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    f"cookiecutter=={PLAIN_COOKIECUTTER_VERSION}"], check=True, env=env,
                   timeout=600)
    return venv / "bin" / "cookiecutter"


def plain_bake(root: Path, project_name: str, *assignments: str) -> Standalone:
    """`cookiecutter --no-input <repo> project_name=... key=value...` by a cookiecutter that has
    nothing of ours beside it, in a user's shell; the baked project, not yet built."""
    env = user_environment()
    cookiecutter = plain_cookiecutter(root, env)
    baked = subprocess.run(
        [str(cookiecutter), "--no-input", "--output-dir", str(root / "projects"), str(REPO_ROOT),
         f"project_name={project_name}", *assignments],
        cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert baked.returncode == 0, baked.stdout + baked.stderr
    project = root / "projects" / project_name.lower().replace(" ", "-")
    assert f"cd {project}" in baked.stdout
    assert "make venv" in baked.stdout
    return Standalone(project, env)
