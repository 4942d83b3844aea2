"""Metrics of this change against the champion's, as a markdown table for a PR comment.

``python -m mlops_platform.ci.metrics_diff --project .`` (the project's ``make metrics-diff``) reads
the metrics of the sample run (``make pipeline-sample`` writes ``reports/sample/metrics.json``)
and those of the run behind the registry's ``champion`` version; it prints the table and writes
it to ``reports/sample/metrics_diff.md``, which CI posts on the pull request. Both files stay out
of git: comparing changes nothing the project tracks. Exit codes: 0 written, 2 the inputs are
unusable.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from mlops_platform.ci.project_files import SAMPLE_DIR, ProjectFileError, read_sample_metrics
from mlops_platform.client.project import Project, ProjectError
from mlops_platform.client.registry import champion_version
from mlops_platform.client.tracking import TrackingServerError, reachable_target
from mlops_platform.params import ParamsError

DIFF_FILE = SAMPLE_DIR / "metrics_diff.md"


@dataclass(frozen=True)
class Champion:
    version: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class Comparison:
    model_name: str
    primary_metric: str
    higher_is_better: bool
    current: dict[str, float]
    champion: Champion | None

    def verdict(self) -> str:
        if self.champion is None:
            return f"No champion of `{self.model_name}` yet: this run would be the first."
        ours = self.current.get(self.primary_metric)
        theirs = self.champion.metrics.get(self.primary_metric)
        if ours is None or theirs is None:
            return f"`{self.primary_metric}` is missing on one side: no comparison."
        better = ours > theirs if self.higher_is_better else ours < theirs
        if ours == theirs:
            return (f"`{self.primary_metric}` equals the champion's "
                    f"(version {self.champion.version}).")
        word = "better" if better else "worse"
        return (f"`{self.primary_metric}` is **{word}** than the champion's "
                f"(version {self.champion.version}).")


def fetch_champion(project: Path, model_name: str) -> Champion | None:
    client = reachable_target(project).client()
    version = champion_version(client, model_name)
    if version is None:
        return None
    run_id = client.get_model_version(model_name, version).run_id
    return Champion(version, dict(client.get_run(run_id).data.metrics) if run_id else {})


def compare(project: Path) -> Comparison:
    params = Project.open(project).params
    return Comparison(model_name=params.model.name,
                      primary_metric=params.promotion.primary_metric,
                      higher_is_better=params.promotion.higher_is_better,
                      current=read_sample_metrics(project),
                      champion=fetch_champion(project, params.model.name))


def cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def delta(ours: float | None, theirs: float | None) -> str:
    return "n/a" if ours is None or theirs is None else f"{ours - theirs:+.4f}"


def render(comparison: Comparison) -> str:
    theirs = comparison.champion.metrics if comparison.champion else {}
    rows = [f"| {'**' + name + '**' if name == comparison.primary_metric else name} "
            f"| {cell(comparison.current.get(name))} | {cell(theirs.get(name))} "
            f"| {delta(comparison.current.get(name), theirs.get(name))} |"
            for name in sorted(comparison.current)]
    return "\n".join([
        f"### Metrics of this change vs the champion of `{comparison.model_name}`", "",
        comparison.verdict(), "",
        "| metric | this change | champion | Δ |", "|---|---:|---:|---:|", *rows, "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.ci.metrics_diff",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, default=Path())
    parser.add_argument("--output", type=Path, default=None,
                        help=f"markdown file to write (default: <project>/{DIFF_FILE})")
    args = parser.parse_args(argv)
    try:
        markdown = render(compare(args.project))
    except (ParamsError, ProjectError, ProjectFileError, TrackingServerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    output = args.output or args.project / DIFF_FILE
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
