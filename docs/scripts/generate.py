"""Write the reference tables of docs/ from the code; `--check` only says which are stale.

Each table sits in its page between `<!-- generated: NAME -->` and
`<!-- end generated: NAME -->`; everything else on the page is written by hand.

    .venv/bin/python docs/scripts/generate.py           # rewrite the tables
    .venv/bin/python docs/scripts/generate.py --check   # exit 1 naming each stale page
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
ROOT_MAKEFILE = REPO_ROOT / "Makefile"
TEMPLATE_MAKEFILE = REPO_ROOT / "template" / "{{cookiecutter.project_slug}}" / "Makefile"
_HELP = re.compile(r"^([a-z][a-z-]*):.*?## (.+)$", re.MULTILINE)


def config_table() -> str:
    from infra.config import markdown_table

    return markdown_table()


def policies_table() -> str:
    from policies.platform_pack.platform_rules.catalog import markdown_table

    return markdown_table()


def monitoring_table(name: str) -> Callable[[], str]:
    def table() -> str:
        from mlops_platform.monitoring import reference

        return getattr(reference, f"{name}_table")()

    return table


def project_api_table() -> str:
    from mlops_platform import api

    rows = ["| name | what it is |", "|---|---|"]
    for name, (module, attribute) in api.EXPORTS.items():
        rows.append(f"| `{name}` | `{module}{'.' + attribute if attribute else ''}` |")
    rows += ["", "| command (`python -m`) |", "|---|"]
    rows += [f"| `{module}` |" for module in api.COMMANDS]
    return "\n".join(rows)


def make_targets(makefile: Path) -> dict[str, str]:
    """Target -> its `## ` help text, in file order (a target defined twice keeps its first)."""
    targets: dict[str, str] = {}
    for name, text in _HELP.findall(makefile.read_text()):
        targets.setdefault(name, text.strip())
    return targets


def make_targets_table(makefile: Path) -> str:
    rows = ["| target | what it does |", "|---|---|"]
    for name, text in make_targets(makefile).items():
        cell = text.replace("|", r"\|").replace("<", "&lt;")
        rows.append(f"| `make {name}` | {cell} |")
    return "\n".join(rows)


# page (relative to docs/) -> table name -> its generator
TABLES: dict[str, dict[str, Callable[[], str]]] = {
    "reference/configuration.md": {"config": config_table},
    "reference/policies.md": {"policies": policies_table},
    "monitoring.md": {name: monitoring_table(name)
                      for name in ("metrics", "jobs", "alerts", "thresholds")},
    "reference/project-api.md": {"project-api": project_api_table},
    "reference/make-targets.md": {
        "platform-targets": lambda: make_targets_table(ROOT_MAKEFILE),
        "project-targets": lambda: make_targets_table(TEMPLATE_MAKEFILE),
    },
}


def block(name: str, table: str) -> str:
    return f"<!-- generated: {name} -->\n{table}\n<!-- end generated: {name} -->"


def render(text: str, tables: dict[str, Callable[[], str]]) -> str:
    """The page with each generated block replaced by the table its generator writes now."""
    for name, generator in tables.items():
        pattern = re.compile(
            rf"<!-- generated: {re.escape(name)} -->\n.*?<!-- end generated: {re.escape(name)} -->",
            re.DOTALL)
        found = pattern.search(text)
        if not found:
            raise SystemExit(f"docs: no `<!-- generated: {name} -->` block to fill")
        text = text[:found.start()] + block(name, generator()) + text[found.end():]
    return text


def stale_pages() -> list[str]:
    return [page for page, tables in TABLES.items()
            if (DOCS / page).read_text() != render((DOCS / page).read_text(), tables)]


def main(argv: list[str]) -> int:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    if "--check" in argv:
        stale = stale_pages()
        for page in stale:
            print(f"docs/{page} is stale: run `.venv/bin/python docs/scripts/generate.py`")
        return 1 if stale else 0
    for page, tables in TABLES.items():
        path = DOCS / page
        path.write_text(render(path.read_text(), tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
