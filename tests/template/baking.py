"""Bake projects from the template with real cookiecutter and run their make targets."""

from __future__ import annotations

import re
import subprocess
import sys
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
