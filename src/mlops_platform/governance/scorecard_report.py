"""The scorecard for people (a rich table) and for machines (JSON)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from mlops_platform.governance.checker import BELOW_ZERO_NAME, Scorecard, level_name
from mlops_platform.governance.checks import FAILED, NOT_VERIFIED, PASSED

MARKS = {PASSED: "[green]pass[/green]", FAILED: "[red]FAIL[/red]",
         NOT_VERIFIED: "[yellow]not verified[/yellow]"}


def as_json(scorecard: Scorecard) -> str:
    return json.dumps(scorecard.as_dict(), indent=2)


def controls_table(scorecard: Scorecard) -> Table:
    table = Table(title=f"ML governance controls: {scorecard.project.name}")
    for column in ("level", "control", "result", "evidence (what was run or read) / why not"):
        table.add_column(column, overflow="fold")
    for result in scorecard.results:
        table.add_row(str(result.control.level), f"{result.control.id}\n{result.control.title}",
                      MARKS[result.status], "\n".join(f"- {r}" for r in result.reasons))
    return table


def score_table(scorecard: Scorecard) -> Table:
    score = scorecard.ml_test_score
    table = Table(title=f"ML Test Score: {score['final']:g} ({score['interpretation']})")
    for column in ("section", "points", "automated (1)", "manual (½)", "not evidenced"):
        table.add_column(column, overflow="fold")
    for name, section in score["sections"].items():
        table.add_row(name, f"{section['points']:g}", ", ".join(section["automated"]),
                      ", ".join(section["manual"]), ", ".join(section["not_evidenced"]))
    return table


def summary_lines(scorecard: Scorecard) -> list[str]:
    reached = scorecard.level_reached
    shown = BELOW_ZERO_NAME if reached < 0 else f"{reached} ({level_name(reached)})"
    lines = [f"level reached: {shown}; "
             f"declared: {scorecard.declared_level}; required: {scorecard.required_level}"]
    missing = scorecard.missing_for(scorecard.required_level)
    if missing:
        lines.append(f"[red]does not meet level {scorecard.required_level}[/red]; missing: "
                     + ", ".join(r.control.id for r in missing))
    else:
        lines.append(f"[green]meets level {scorecard.required_level}[/green]")
    if scorecard.next_level is not None:
        lines.append(f"for level {scorecard.next_level}: "
                     + ", ".join(f"{r.control.id} ({r.control.title})"
                                 for r in scorecard.missing_for(scorecard.next_level)))
    weakest = scorecard.ml_test_score["weakest"]
    raisers = [f"{t['id']} {t['title']}: {t['to_raise']}"
               for t in scorecard.ml_test_score["tests"]
               if t["section"] in weakest and t["to_raise"]]
    lines.append("ML Test Score credits and their evidence:")
    lines.extend(f"  {t['id']} ({t['points']:g}): {'; '.join(t['evidence'])}"
                 for t in scorecard.ml_test_score["tests"] if t["points"])
    lines.append(f"to raise the ML Test Score (weakest: {', '.join(weakest)}):")
    lines.extend(f"  - {line}" for line in raisers)
    lines.extend(f"[yellow]problem:[/yellow] {problem}" for problem in scorecard.problems)
    return lines


def print_scorecard(scorecard: Scorecard, console: Console | None = None) -> None:
    console = console or Console(width=140)
    console.print(controls_table(scorecard))
    console.print(score_table(scorecard))
    for line in summary_lines(scorecard):
        console.print(line, highlight=False)
