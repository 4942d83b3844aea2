"""What the demo showed: registry facts, serving and drift results, as JSON and a rich table.

The table links only to what is there when it is printed: a URL whose server answers its
health check, a path that exists on disk. The demo stops its servers before the summary, so
their URLs give way to how to see the same things again; the JSON keeps every fact.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mlops_platform import contract as ml_contract
from mlops_platform.processes import http_ok


@dataclass(frozen=True)
class VersionFacts:
    version: str
    aliases: list[str]
    metric: str
    value: float | None
    run_id: str


@dataclass
class DemoSummary:
    mlflow_ui_url: str = ""
    mlflow_health_url: str = ""
    platform_state_dir: str = ""
    project: str = ""
    model_name: str = ""
    first_champion: str | None = None
    champion: str | None = None
    serving_url: str = ""
    serving_health_url: str = ""
    tracking_metrics_url: str = ""
    serving_metrics_url: str = ""
    served_champion: str | None = None
    seconds_to_first_prediction: float | None = None
    predictions_sent: int = 0
    predictions_answered: int = 0
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    shifted_rows_sent: int = 0
    drift_detected: bool | None = None
    drift_verdict: str = ""
    performance_verdict: str = ""
    degraded: bool | None = None
    retrained: bool = False
    labelled_rows: int = 0  # the labelled served rows the retrain's data version holds
    labelled_left_out: dict[str, int] = field(default_factory=dict)  # the others, by reason
    recent_window: dict = field(default_factory=dict)  # the gate's last comparison on it
    ab_champion: str | None = None
    ab_challenger: str | None = None
    ab_decision: str = ""
    ab_rows: dict[str, int] = field(default_factory=dict)  # logged rows by arm
    versions: list[VersionFacts] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


def registry_versions(client, model_name: str, metric: str) -> list[VersionFacts]:
    """Every registered version of the model, oldest first, with its run's primary metric."""
    facts = []
    for version in client.search_model_versions(f"name='{model_name}'"):
        full = client.get_model_version(model_name, version.version)
        metrics = client.get_run(full.run_id).data.metrics if full.run_id else {}
        facts.append(VersionFacts(version=str(full.version), aliases=sorted(full.aliases),
                                  metric=metric, value=metrics.get(metric), run_id=full.run_id))
    return sorted(facts, key=lambda facts: int(facts.version))


def champion_of(versions: list[VersionFacts]) -> str | None:
    return next((v.version for v in versions if ml_contract.ALIAS_CHAMPION in v.aliases), None)


def summary_table(summary: DemoSummary) -> Table:
    table = Table(title="make demo: the loop on the embedded platform", show_lines=False)
    table.add_column("what", style="bold")
    table.add_column("result", overflow="fold")
    mlflow_ui = mlflow_ui_cell(summary)
    if mlflow_ui:
        table.add_row("MLflow UI", mlflow_ui)
    if _on_disk(summary.project):
        table.add_row("project", summary.project)
    for version in summary.versions:
        value = "n/a" if version.value is None else f"{version.value:.4f}"
        aliases = ", ".join(version.aliases) or "-"
        table.add_row(f"{summary.model_name} v{version.version}",
                      f"{version.metric} {value} ({aliases})")
    table.add_row("champion", f"v{summary.first_champion} -> v{summary.champion}")
    table.add_row("served", served_cell(summary))
    metrics = metrics_cell(summary)
    if metrics:
        table.add_row("Prometheus metrics", metrics)
    table.add_row("first prediction", _seconds(summary.seconds_to_first_prediction)
                  + " after start")
    table.add_row("predictions", f"{summary.predictions_answered}/{summary.predictions_sent} "
                                 f"answered, + {summary.shifted_rows_sent} shifted rows")
    table.add_row("serving latency", f"p50 {_ms(summary.latency_p50_ms)}, "
                                     f"p99 {_ms(summary.latency_p99_ms)} (1-row requests)")
    table.add_row("drift", summary.drift_verdict or "not checked")
    table.add_row("performance", summary.performance_verdict or "not checked")
    table.add_row("retrained", retrained_cell(summary))
    if summary.recent_window.get("measured"):
        table.add_row("recent window", recent_window_cell(summary))
    if summary.ab_decision:
        rows = ", ".join(f"{arm} {count}" for arm, count in summary.ab_rows.items())
        table.add_row("A/B test", f"v{summary.ab_champion} vs v{summary.ab_challenger} ({rows} "
                                  f"rows): {summary.ab_decision}")
    for name, path in summary.reports.items():
        if _on_disk(path):
            table.add_row(f"report: {name}", path)
    return table


def retrained_cell(summary: DemoSummary) -> str:
    if not summary.retrained:
        return "no"
    left_out = ", ".join(f"{count} {why}" for why, count in summary.labelled_left_out.items())
    return (f"on degradation, with {summary.labelled_rows} labelled served rows"
            + (f" ({left_out}: left out)" if left_out else ""))


def recent_window_cell(summary: DemoSummary) -> str:
    """What the gate measured on the latest window of labelled rows, champion last."""
    recent = summary.recent_window
    scores = ", ".join(f"v{version} {value:.4f}" for version, value in recent["measured"].items())
    return f"{scores} on {recent['rows']} labelled rows served from {recent['start_utc']}"


def mlflow_ui_cell(summary: DemoSummary) -> str:
    """The UI's URL while its server answers; once stopped, how to open its registry again."""
    if summary.mlflow_health_url and http_ok(summary.mlflow_health_url):
        return summary.mlflow_ui_url
    if _on_disk(summary.platform_state_dir):
        return ("stopped with the demo; its registry is kept, open it again with "
                f'make platform-up ARGS="--state-dir {summary.platform_state_dir}"')
    return ""


def metrics_cell(summary: DemoSummary) -> str:
    """Where Prometheus would scrape the tracking server and the model server, while they
    answer (docs/monitoring.md lists the series)."""
    recorded = [(what, url) for what, url in (("tracking", summary.tracking_metrics_url),
                                                ("serving", summary.serving_metrics_url)) if url]
    live = [f"{what} {url}" for what, url in recorded if http_ok(url)]
    if live or not recorded:
        return ", ".join(live)
    return ("stopped with the demo; make platform-up and make serve print where theirs are "
            "(docs/monitoring.md)")


def served_cell(summary: DemoSummary) -> str:
    if summary.served_champion is None:
        return "not served"
    if summary.serving_health_url and http_ok(summary.serving_health_url):
        return f"v{summary.served_champion} at {summary.serving_url}"
    return f"v{summary.served_champion} (the model server stopped with the demo)"


def print_summary(summary: DemoSummary, console: Console) -> None:
    console.print(summary_table(summary))


def _on_disk(path: str) -> bool:
    return bool(path) and Path(path).exists()


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"
