"""What the governance checker can see of an ML project on disk, read once.

params.yaml comes first: opening a project validates it with the project's schema
(mlops_platform.params), so a bad value stops every governance command with one line.
Everything else is parsed leniently: a missing or broken file is a fact the controls
report on (with the file named), never a crash of the checker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from mlops_platform.params import PARAMS_FILE, PlatformParams, load, project_schema

DVC_FILE = "dvc.yaml"
MAKEFILE = "Makefile"
OUTPUTS_FILE = "platform_outputs.json"
CI_FILES = {"github": ".github/workflows", "gitlab": ".gitlab-ci.yml"}
MAKE_TARGET = re.compile(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", re.MULTILINE)


class ProjectError(ValueError):
    """The path given is not an ML project the checker can inspect."""


def read_yaml(path: Path) -> tuple[Any, str | None]:
    """The parsed file, or None and why it could not be read."""
    if not path.is_file():
        return None, f"{path.name} is missing"
    try:
        return yaml.safe_load(path.read_text()), None
    except yaml.YAMLError as err:
        return None, f"{path.name} is not valid YAML: {err}"


def package_dir(root: Path) -> Path | None:
    """src/<package>/: the one package of the project (src layout)."""
    packages = sorted(p for p in (root / "src").glob("*") if (p / "__init__.py").is_file())
    return packages[0] if packages else None


@dataclass
class Project:
    root: Path
    params: PlatformParams  # validated with the project's own schema
    problems: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path | str) -> Project:
        root = Path(path).resolve()
        if not root.is_dir():
            raise ProjectError(f"project path {path} is not a directory: give the root of an "
                               f"ML project (the directory holding {PARAMS_FILE})")
        if not (root / PARAMS_FILE).is_file():
            raise ProjectError(f"{root} has no {PARAMS_FILE}: give the root of a project "
                               "generated from the template (it holds params.yaml)")
        # params.yaml first: a bad value stops every governance command before it reads more.
        schema = project_schema(package_dir(root))
        return cls(root=root, params=load(root / PARAMS_FILE, schema))

    def exists(self, relative: str) -> bool:
        return (self.root / relative).exists()

    def text(self, relative: str) -> str:
        path = self.root / relative
        return path.read_text(errors="replace") if path.is_file() else ""

    def param(self, key: str) -> Any:
        return self.params.value(key)

    @property
    def declared_level(self) -> int:
        return self.params.project.maturity_level

    @cached_property
    def dvc_stages(self) -> dict[str, dict[str, Any]]:
        data, problem = read_yaml(self.root / DVC_FILE)
        if problem:
            self.problems.append(problem)
        stages = data.get("stages") if isinstance(data, dict) else None
        return stages if isinstance(stages, dict) else {}

    def stage_outputs(self, stage: str) -> list[str]:
        spec = self.dvc_stages.get(stage) or {}
        paths: list[str] = []
        for kind in ("outs", "metrics", "plots"):
            for entry in spec.get(kind) or []:
                paths.extend(entry if isinstance(entry, dict) else [entry])
        return paths

    @cached_property
    def make_targets(self) -> dict[str, str]:
        """Each Makefile target with its recipe (the lines up to the next target)."""
        text = self.text(MAKEFILE)
        matches = list(MAKE_TARGET.finditer(text))
        targets: dict[str, str] = {}
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
            targets[match.group(1)] = text[match.end():end]
        return targets

    @cached_property
    def ci_files(self) -> dict[str, str]:
        """CI definitions of either provider: relative path -> text."""
        found: dict[str, str] = {}
        workflows = self.root / CI_FILES["github"]
        if workflows.is_dir():
            for path in sorted(workflows.glob("*.y*ml")):
                found[str(path.relative_to(self.root))] = path.read_text(errors="replace")
        if self.exists(CI_FILES["gitlab"]):
            found[CI_FILES["gitlab"]] = self.text(CI_FILES["gitlab"])
        return found

    @property
    def ci_text(self) -> str:
        return "\n".join(self.ci_files.values())

    @cached_property
    def ci_documents(self) -> list[Any]:
        documents = []
        for relative in self.ci_files:
            data, problem = read_yaml(self.root / relative)
            if problem:
                self.problems.append(problem)
            else:
                documents.append(data)
        return documents

    @cached_property
    def test_files(self) -> dict[str, str]:
        tests = self.root / "tests"
        if not tests.is_dir():
            return {}
        return {str(path.relative_to(self.root)): path.read_text(errors="replace")
                for path in sorted(tests.rglob("test_*.py"))}

    @cached_property
    def package_dir(self) -> Path | None:
        return package_dir(self.root)

    def module_text(self, module: str) -> str:
        if self.package_dir is None:
            return ""
        path = self.package_dir / f"{module}.py"
        return path.read_text(errors="replace") if path.is_file() else ""


def model_name(project_root: Path) -> str:
    """The registered model a project trains (params.yaml's model.name)."""
    return Project.open(project_root).params.model.name
