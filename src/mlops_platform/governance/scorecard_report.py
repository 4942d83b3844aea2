"""The scorecard for people and for machines (JSON).

For people, by default, a short answer that fits the terminal: the level reached, how many
controls of each level pass, and the controls the next level still needs with what to do.
`print_scorecard` (`--verbose`) is the full account: every control with its evidence and
the ML Test Score's credits.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mlops_platform.governance.checker import BELOW_ZERO_NAME, Scorecard, level_name
from mlops_platform.governance.checks import FAILED, NOT_VERIFIED, PASSED
from mlops_platform.governance.controls import LEVELS

SHORT_MARKS = {FAILED: "[red]✗[/red]", NOT_VERIFIED: "[yellow]?[/yellow]"}
MARKS = {PASSED: "[green]pass[/green]", FAILED: "[red]FAIL[/red]",
         NOT_VERIFIED: "[yellow]not verified[/yellow]"}


def as_json(scorecard: Scorecard) -> str:
    return json.dumps(scorecard.as_dict(), indent=2)


def controls_table(scorecard: Scorecard) -> Table:
    table = Table(title=f"ML governance controls: {scorecard.project.name}")
    for column in ("level", "control", "result", "evidence (what was run or read) / why not"):
        table.add_column(column, overflow="fold")
    for result in scorecard.results:
        level = f"{result.control.level}, optional" if result.control.optional \
            else str(result.control.level)
        table.add_row(level, f"{result.control.id}\n{result.control.title}",
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
    if scorecard.reused_probes:
        console.print(reuse_line(scorecard), highlight=False)


def headline(scorecard: Scorecard) -> str:
    reached = scorecard.level_reached
    shown = BELOW_ZERO_NAME if reached < 0 else f"level {reached} ({level_name(reached)})"
    required = scorecard.required_level
    verdict = (f"[green]meets level {required}[/green]" if scorecard.meets_required_level
               else f"[red]does not meet level {required}[/red]")
    # The verdict on a line of its own: a long project name never wraps it apart.
    return f"[bold]{escape(scorecard.project.name)}[/bold]: {shown} reached\n{verdict}"


def levels_table(scorecard: Scorecard) -> Table:
    table = Table.grid(padding=(0, 2))
    for level in LEVELS:
        results = [r for r in scorecard.results
                   if r.control.level == level and not r.control.optional]
        passing = sum(r.passed for r in results)
        colour = "green" if passing == len(results) else "red"
        table.add_row(f"  level {level}", level_name(level),
                      f"[{colour}]{passing}/{len(results)}[/{colour}] controls pass")
    return table


def next_level_table(scorecard: Scorecard) -> Table | str:
    """The controls the next level still needs, each with what its failing evidence says
    (wrapped inside its column, to the terminal's width)."""
    following = scorecard.next_level
    if following is None:
        return "every control of every level passes"
    table = Table.grid(padding=(0, 1))
    table.add_column(width=3, justify="right")
    table.add_column(overflow="fold")
    for result in scorecard.missing_for(following):
        table.add_row(SHORT_MARKS[result.status],
                      f"[bold]{result.control.id}[/bold] {escape(result.control.title)}")
        for reason in result.unmet:
            table.add_row("", f"[dim]-[/dim] {escape(reason)}")
    table.title = f"to reach level {following} ({level_name(following)}):"
    table.title_justify = "left"
    return table


def where(path: Path) -> str:
    home = Path.home()
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def reuse_line(scorecard: Scorecard) -> str:
    return (f"{scorecard.reused_probes} probe outcomes reused from the cache in "
            f"{where(scorecard.cache_directory)} (their inputs are unchanged; --no-cache runs "
            "them again)")


def footer_lines(scorecard: Scorecard) -> list[str]:
    score = scorecard.ml_test_score
    lines = [f"ML Test Score {score['final']:g} (weakest: {', '.join(score['weakest'])})"]
    lines.extend(f"[yellow]problem:[/yellow] {escape(problem)}" for problem in scorecard.problems)
    if scorecard.reused_probes:
        lines.append(reuse_line(scorecard))
    lines.append("[dim]every control and its evidence: --verbose; as JSON: --json[/dim]")
    return lines


def print_summary(scorecard: Scorecard, console: Console | None = None) -> None:
    """The short answer (the default of `mlops-policy check`)."""
    console = console or Console()
    console.print(headline(scorecard), highlight=False)
    console.print(levels_table(scorecard), highlight=False)
    console.print(next_level_table(scorecard), highlight=False)
    for line in footer_lines(scorecard):
        console.print(line, highlight=False)
