"""The front door stays true: short README, fresh generated tables, no command that is gone."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = REPO_ROOT / "docs"
README = REPO_ROOT / "README.md"
# A command: `make <target>` in a code span, or `make <target>` starting a line of a code block
# (also after `&&` or `;`). Its first word is the target (`make deploy ENV=staging`).
MAKE_COMMAND = re.compile(r"(?:`|^[ \t]*|&& |; )make ([^\s`]+)", re.MULTILINE)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "scripts" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("docs_generate", module)
    spec.loader.exec_module(module)
    return module


GENERATE = load_generator()


def documents() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def documented_make_targets() -> dict[str, set[str]]:
    """Target -> the documents naming it as `make <target>`."""
    named: dict[str, set[str]] = {}
    for path in documents():
        for target in MAKE_COMMAND.findall(path.read_text()):
            if not re.search(r"[<=$]|^-", target):  # a placeholder, a variable or an option
                named.setdefault(target, set()).add(str(path.relative_to(REPO_ROOT)))
    return named


def existing_make_targets() -> set[str]:
    rule = re.compile(r"^([A-Za-z0-9_.%/$()-]+):(?!=)", re.MULTILINE)
    targets = set()
    for makefile in (GENERATE.ROOT_MAKEFILE, GENERATE.TEMPLATE_MAKEFILE):
        for line in rule.findall(makefile.read_text()):
            targets.update(line.split())
    return targets


def is_made(target: str, existing: set[str]) -> bool:
    if target in existing:
        return True
    # the pattern rule `.venv-%/.installed` makes `.venv-<name>/.installed` for a lock of that name
    match = re.fullmatch(r"\.venv-([a-z-]+)/\.installed", target)
    return bool(match) and (REPO_ROOT / "requirements" / f"{match[1]}.txt").exists()


def test_the_readme_is_the_front_door_not_the_manual() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move detail into docs/"
    for command in ("make demo", "make test", "pulumi up", "cookiecutter", "make pipeline"):
        assert command in README.read_text(), command


def test_every_generated_table_is_fresh() -> None:
    assert GENERATE.stale_pages() == [], (
        "run `.venv/bin/python docs/scripts/generate.py` and commit the pages")


def test_a_stale_table_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    page = "reference/make-targets.md"
    tables = dict(GENERATE.TABLES[page])
    tables["platform-targets"] = lambda: "| target | what it does |\n|---|---|"
    monkeypatch.setitem(GENERATE.TABLES, page, tables)
    assert GENERATE.stale_pages() == [page]


def test_the_make_targets_page_lists_every_documented_target_of_the_makefiles() -> None:
    page = (DOCS / "reference" / "make-targets.md").read_text()
    for makefile in (GENERATE.ROOT_MAKEFILE, GENERATE.TEMPLATE_MAKEFILE):
        for target in GENERATE.make_targets(makefile):
            assert f"| `make {target}` |" in page, target
    assert "| `make docs` |" in page and "| `make test-fast` |" in page


def test_every_make_command_in_the_docs_exists() -> None:
    existing = existing_make_targets()
    named = documented_make_targets()
    assert {"demo", "test", "docs", "pods", "update"} <= set(named)
    missing = {target: sorted(where) for target, where in named.items()
               if not is_made(target, existing)}
    assert not missing, f"documented `make` targets that no Makefile has: {missing}"


def test_the_check_recognises_a_missing_target() -> None:
    assert not is_made("no-such-target", existing_make_targets())
    assert not is_made(".venv-nothing/.installed", existing_make_targets())
    assert is_made(".venv-docs/.installed", existing_make_targets())


def test_pages_carry_no_registry_host_or_download_url() -> None:
    urls = re.compile(r"https?://(?!127\.0\.0\.1|localhost)[^\s)`'\"]+")
    for path in [*documents(), REPO_ROOT / "mkdocs.yml", REPO_ROOT / "requirements" / "docs.in"]:
        assert not urls.findall(path.read_text()), path
    lock = (REPO_ROOT / "requirements" / "docs.txt").read_text()
    assert "http" not in lock, "requirements/docs.txt names an index: compile it with --no-header"
