"""Every stack renders its alert rules (PrometheusRule or a rules-file ConfigMap, thresholds
from the stack) that promtool accepts, and its dashboards as ConfigMaps Grafana's sidecar loads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import STACKS
from infra.observability import DASHBOARD_LABEL, RULES_FILE_KEY
from mlops_platform.local_cluster.manifests import to_manifests
from mlops_platform.local_cluster.mocked_engine import run_stack
from mlops_platform.monitoring.alerts import alert_names
from tests.infra.k8s_objects import of_kind
from tests.infra.stacks import SERVED_MODEL, with_a_model
from tests.support.prometheus import tool

PAGE = "https://docs.example.com/monitoring/"


def render(stack: str, **settings: Any) -> list[dict[str, Any]]:
    return to_manifests(run_stack(stack, {**with_a_model(stack), **settings}).resources,
                        redact=False)


def promtool_check(groups: list[dict[str, Any]], folder: Path) -> str:
    path = folder / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    result = subprocess.run([tool("promtool"), "check", "rules", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def alert(groups: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(rule for group in groups for rule in group["rules"] if rule.get("alert") == name)


@pytest.mark.parametrize("stack", STACKS)
def test_in_operator_mode_a_prometheus_rule_holds_rules_promtool_accepts(
        stack: str, tmp_path: Path) -> None:
    manifests = render(stack, scrape_mode="operator", monitor_labels={"release": "kps"},
                       alert_thresholds={"latency_p99_seconds": 0.25}, runbook_page=PAGE)
    [rule] = of_kind(manifests, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kps"
    groups = rule["spec"]["groups"]
    assert f"SUCCESS: {len(alert_names())} rules found" in promtool_check(groups, tmp_path)
    latency = alert(groups, "MlopsServingLatencyHigh")
    assert latency["expr"].endswith("> 0.25")
    assert latency["annotations"]["runbook_url"] == f"{PAGE}#mlopsservinglatencyhigh"
    assert not [config_map for config_map in of_kind(manifests, "ConfigMap")
                if RULES_FILE_KEY in config_map.get("data", {})]


@pytest.mark.parametrize("stack", STACKS)
def test_in_annotations_mode_a_config_map_holds_the_rules_file(stack: str,
                                                                tmp_path: Path) -> None:
    manifests = render(stack, scrape_mode="annotations")
    assert not of_kind(manifests, "PrometheusRule")
    [rules] = [config_map for config_map in of_kind(manifests, "ConfigMap")
               if RULES_FILE_KEY in config_map.get("data", {})]
    groups = yaml.safe_load(rules["data"][RULES_FILE_KEY])["groups"]
    promtool_check(groups, tmp_path)
    assert alert(groups, "MlopsServingLatencyHigh")["expr"].endswith("> 0.5")


def test_dashboards_are_config_maps_in_the_monitoring_namespace_for_grafanas_sidecar() -> None:
    manifests = render("dev", monitoring_namespace="observe")
    boards = [config_map for config_map in of_kind(manifests, "ConfigMap")
              if config_map["metadata"]["labels"].items() >= DASHBOARD_LABEL.items()]
    assert {board["metadata"]["namespace"] for board in boards} == {"observe"}
    titles = {json.loads(content)["title"] for board in boards
              for content in board["data"].values()}
    assert len(boards) == 2 and any(SERVED_MODEL["name"] in title for title in titles)
