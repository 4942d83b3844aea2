"""Evidence the checker produces itself by running the project, never by reading mentions.

Everything that executes project code runs in a temporary working copy (the project is
never touched): its test suite (JUnit XML), the suite again with one guarded function
broken (a mutant the tests must kill), pipeline steps fed its own data and corrupted
data. Make targets are read with `make -n` (what the recipe really runs) and DVC stages
with `dvc status` (are the outputs those of the current code).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_platform.governance.shell_commands import effective_calls

TEST_TIMEOUT = 900
STEP_TIMEOUT = 300
# Not copied into the working copy: history, environments, caches.
SKIPPED_AT_ROOT = {".git", ".venv", ".venv-mlserver", "mlruns", ".pytest_cache", "build"}
SKIPPED_ANYWHERE = {"__pycache__", ".ruff_cache"}
SKIPPED_IN_DVC = {"cache", "tmp"}
MUTATION_PLUGIN = "mlops_mutation"
MUTANT_ENV = "MLOPS_MUTANT"  # mutation_plugin's


def project_python(root: Path) -> str:
    """The project's own interpreter when it has one, else the checker's."""
    own = root / ".venv" / "bin" / "python"
    return str(own) if own.is_file() else sys.executable


def project_environment(root: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root / "src"),
                                                      os.environ.get("PYTHONPATH")]))
    return env


def _ignored(source: Path, root: Path):
    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory)
        skipped = {name for name in names if name in SKIPPED_ANYWHERE}
        if here == source:
            skipped |= SKIPPED_AT_ROOT & set(names)
        if here == source / ".dvc":
            skipped |= SKIPPED_IN_DVC & set(names)
        return skipped
    return ignore


def working_copy(source: Path, into: Path) -> Path:
    """A copy of the project to run things in (without history, environments and caches)."""
    copy = into / source.name
    shutil.copytree(source, copy, ignore=_ignored(source, copy), symlinks=True)
    return copy


@dataclass(frozen=True)
class TestRun:
    passed: int
    failed: int
    skipped: int
    returncode: int
    tail: str

    @property
    def green(self) -> bool:
        return self.passed >= 1 and self.failed == 0 and self.returncode == 0

    def summary(self) -> str:
        return (f"{self.passed} passed, {self.failed} failed or errored, {self.skipped} skipped "
                f"(exit {self.returncode})")


def junit_counts(report: Path) -> tuple[int, int, int]:
    """(passed, failed or errored, skipped) from a JUnit XML report."""
    if not report.is_file():
        return 0, 0, 0
    # Written by the pytest run the checker started, in its own temporary directory.
    root = ElementTree.parse(report).getroot()  # noqa: S314
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def run_tests(copy: Path, python: str, *arguments: str,
              env: dict[str, str] | None = None) -> TestRun:
    """The project's pytest in the working copy; counts from its JUnit XML report."""
    report = copy.parent / "junit.xml"
    report.unlink(missing_ok=True)
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
         *arguments], cwd=copy, env=env or project_environment(copy), capture_output=True,
        text=True, timeout=TEST_TIMEOUT)
    passed, failed, skipped = junit_counts(report)
    tail = (result.stdout + result.stderr).strip().splitlines()[-1:] or [""]
    return TestRun(passed, failed, skipped, result.returncode, tail[0])


def run_tests_with_mutant(copy: Path, python: str, module: str, function: str,
                          *arguments: str) -> TestRun:
    """The tests with ``module.function`` broken in memory by ``mutation_plugin`` (copied
    beside the working copy, outside it, as ``mlops_mutation``)."""
    plugin_dir = copy.parent / "mutation"
    plugin_dir.mkdir(exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("mutation_plugin.py"),
                    plugin_dir / f"{MUTATION_PLUGIN}.py")
    env = project_environment(copy)
    env["PYTHONPATH"] = os.pathsep.join([str(plugin_dir), env["PYTHONPATH"]])
    env[MUTANT_ENV] = f"{module}:{function}"
    return run_tests(copy, python, "-p", MUTATION_PLUGIN, *arguments, env=env)


def defines_function(source: str, function: str) -> bool:
    """The module defines ``function`` at its top level (what the mutation probe breaks)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == function
               for node in tree.body)


def run_step(copy: Path, python: str, module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", module], cwd=copy, env=project_environment(copy),
                          capture_output=True, text=True, timeout=STEP_TIMEOUT)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def corruptions(contract: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, column, bad value) breaking the data contract: a null, a value out of range."""
    target = contract.get("target")
    features = [c for c in contract.get("columns") or [] if isinstance(c, dict)
                and c.get("name") != target]
    found = []
    not_nullable = next((c for c in features if not c.get("nullable")), None)
    if not_nullable:
        found.append(("nulls", str(not_nullable["name"]), ""))
    bounded = next((c for c in features if "max" in c), None)
    if bounded:
        found.append(("out-of-range values", str(bounded["name"]),
                      str(abs(float(bounded["max"])) * 10 + 1)))
    return found


def corrupt_csv(path: Path, column: str, value: str) -> bool:
    header, rows = read_rows(path)
    if column not in header or not rows:
        return False
    for row in rows[:3]:
        row[column] = value
    write_rows(path, header, rows)
    return True


def door_violations(contract: dict[str, Any], table: Path,
                    corrupted: tuple[str, str] | None = None) -> list[str]:
    """What the model server's door (the rules every served request is checked with) says of
    the table's feature columns, with `corrupted` (column, value) written into three rows."""
    import pandas as pd

    from mlops_platform import data_contract_rules

    frame = pd.read_csv(table).drop(columns=[contract.get("target")], errors="ignore")
    if corrupted:
        column, value = corrupted
        frame[column] = frame[column].astype(object)
        frame.loc[frame.index[:3], column] = float(value) if value else None
    columns = data_contract_rules.input_columns(contract)
    return [violation.line() for violation in data_contract_rules.check_frame(frame, columns)]


def trivial_baseline(train_file: Path, target: str, split: tuple[Any, Any] | str, metric: str,
                     seed: int) -> float | str:
    """`metric` on the test split of a model that guesses by the training split's class
    frequencies (fit on `train_file`), or why it cannot be computed."""
    import pandas as pd
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import get_scorer

    if isinstance(split, str):
        return split
    if not train_file.is_file():
        return f"{train_file.name} is missing: run the pipeline (or `dvc pull`)"
    train = pd.read_csv(train_file)
    if target not in train.columns:
        return f"{train_file.name} has no target column {target!r}"
    baseline = DummyClassifier(strategy="stratified", random_state=seed)
    baseline.fit(train.drop(columns=[target]), train[target])
    return float(get_scorer(metric)(baseline, *split))


def dry_run(root: Path, target: str) -> tuple[int, list[str]]:
    """`make -n <target>`: its exit code and the shell lines the recipe would run."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=root, env=env,
                            capture_output=True, text=True, timeout=60)
    joined = result.stdout.replace("\\\n", " ")
    return result.returncode, [line.strip() for line in joined.splitlines() if line.strip()]


def real_calls(lines: list[str], calls: str) -> list[str]:
    """The lines that run `calls` (or, with no `calls`, anything that does work) in a way
    whose failure fails the line (``shell_commands``: no dry run, no swallowed status)."""
    wanted = calls.split()
    return [line for line in dict.fromkeys(lines)
            if any(command[:len(wanted)] == wanted for command in effective_calls(line))]


def dvc_status(root: Path) -> tuple[dict[str, Any] | None, str]:
    """`dvc status --json` of the project: stages whose outputs are not the current code's."""
    result = subprocess.run([project_python(root), "-m", "dvc", "status", "--json"], cwd=root,
                            env=project_environment(root), capture_output=True, text=True,
                            timeout=STEP_TIMEOUT)
    if result.returncode != 0:
        return None, f"`dvc status` failed: {(result.stderr or result.stdout).strip()[-300:]}"
    try:
        return json.loads(result.stdout or "{}"), "dvc status"
    except json.JSONDecodeError:
        return None, f"`dvc status --json` printed no JSON: {result.stdout.strip()[-300:]}"


def defined_names(source: str) -> tuple[set[str], set[str]]:
    """(names the code uses, dotted or not; functions it defines): comments and imports alone
    do not count."""
    tree = ast.parse(source)
    used: set[str] = set()
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
            used.add(ast.unparse(node))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defined.add(node.name)
    return used, defined
