"""The demo's summary links only to what is there when it is printed: a server that answers
its health URL, a file on disk."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from mlops_platform.demo.summary import DemoSummary, summary_table
from mlops_platform.processes import (
    LOOPBACK,
    free_port,
    start_process_group,
    stop_process_group,
    wait_until_healthy,
)

MLFLOW_HEALTH = "health"
SERVING_HEALTH = "v2/health/ready"


def rendered(summary: DemoSummary) -> str:
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(summary_table(summary))
    return console.file.getvalue()


@pytest.fixture
def answering_server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback whose files answer MLflow's and MLServer's health paths."""
    root = tmp_path / "www"
    for health in (MLFLOW_HEALTH, SERVING_HEALTH):
        (root / health).parent.mkdir(parents=True, exist_ok=True)
        (root / health).write_text("OK")
    port = free_port()
    log = tmp_path / "http.log"
    process = start_process_group([sys.executable, "-m", "http.server", "--bind", LOOPBACK,
                                   "--directory", str(root), str(port)], log)
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_healthy(f"{url}/{MLFLOW_HEALTH}", process, log)
        yield url
    finally:
        stop_process_group(process.pid)


def summary_with_urls(url: str, state_dir: Path) -> DemoSummary:
    return DemoSummary(mlflow_ui_url=f"{url}/#/models/churn",
                       mlflow_health_url=f"{url}/{MLFLOW_HEALTH}",
                       platform_state_dir=str(state_dir), served_champion="2", serving_url=url,
                       serving_health_url=f"{url}/{SERVING_HEALTH}")


@pytest.mark.slow
def test_running_servers_are_linked(answering_server: str, tmp_path: Path) -> None:
    text = rendered(summary_with_urls(answering_server, tmp_path))
    assert f"{answering_server}/#/models/churn" in text
    assert f"v2 at {answering_server}" in text
    assert "stopped with the demo" not in text


def test_stopped_servers_are_not_linked_and_the_kept_registry_is_named(tmp_path: Path) -> None:
    down = f"http://{LOOPBACK}:{free_port()}"  # nothing listens there
    state_dir = tmp_path / "platform"
    state_dir.mkdir()
    text = rendered(summary_with_urls(down, state_dir))
    assert down not in text
    assert "v2 (the model server stopped with the demo)" in text
    assert f'make platform-up ARGS="--state-dir {state_dir}"' in text


def test_no_registry_row_when_the_server_is_down_and_its_state_is_gone(tmp_path: Path) -> None:
    down = f"http://{LOOPBACK}:{free_port()}"
    text = rendered(summary_with_urls(down, tmp_path / "removed"))
    assert "MLflow UI" not in text and "platform-up" not in text


def test_only_reports_written_to_disk_are_listed(tmp_path: Path) -> None:
    card = tmp_path / "reports" / "model_card.md"
    card.parent.mkdir()
    card.write_text("# model card")
    missing = tmp_path / "reports" / "drift.html"
    summary = DemoSummary(project=str(tmp_path),
                          reports={"model card": str(card), "drift (HTML)": str(missing)})
    text = rendered(summary)
    assert "report: model card" in text and str(card) in text
    assert "drift (HTML)" not in text and str(missing) not in text
    assert str(tmp_path) in text.split("project", 1)[1]


def test_a_project_folder_that_is_gone_is_not_listed(tmp_path: Path) -> None:
    text = rendered(DemoSummary(project=str(tmp_path / "gone")))
    assert "project" not in text.replace("make demo", "")
