"""The alert rules pass `promtool check rules`, and each fires and stays quiet as it should
under `promtool test rules` (Debian's prometheus package; .ci/run installs it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_platform.monitoring import alerts
from mlops_platform.monitoring.alerts import (
    RUNBOOK_ANNOTATION,
    AlertThresholds,
    rule_groups,
    rules_file,
)
from tests.monitoring.alert_cases import CASES, Case
from tests.support.prometheus import tool

REPO_ROOT = Path(__file__).resolve().parents[2]
LABEL_TEMPLATE = re.compile(r"\{\{ \$labels\.(\w+) \}\}")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("promtool"), *args], capture_output=True, text=True, timeout=60)


def rules_by_name(thresholds: AlertThresholds) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in rule_groups(thresholds) for rule in group["rules"]}


def expected_alert(case: Case) -> dict[str, Any]:
    rule = rules_by_name(case.thresholds)[case.alert]
    labels = {**case.labels, **rule["labels"]}
    annotations = {key: LABEL_TEMPLATE.sub(lambda m: labels[m.group(1)], text)
                   for key, text in rule["annotations"].items()}
    return {"exp_labels": labels, "exp_annotations": annotations}


def promtool_test_file(case: Case, rules: Path) -> dict[str, Any]:
    return {
        "rule_files": [str(rules)],
        "evaluation_interval": case.evaluation_interval,
        "tests": [{
            "interval": "1m",
            "input_series": case.series,
            "alert_rule_test": [{
                "eval_time": case.eval_time,
                "alertname": case.alert,
                "exp_alerts": [expected_alert(case)] if case.fires else [],
            }],
        }],
    }


@pytest.mark.parametrize("thresholds", [AlertThresholds(), AlertThresholds(
    latency_p99_seconds=1.5, no_traffic_window="2h", model_max_age="90d", drift_for="1h")],
    ids=["defaults", "custom"])
def test_promtool_accepts_the_rules_file(tmp_path: Path, thresholds: AlertThresholds) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(rules_file(thresholds))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_promtool_unit_test(tmp_path: Path, case: Case) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_file(case.thresholds))
    test_file = tmp_path / "test.yaml"
    test_file.write_text(yaml.safe_dump(promtool_test_file(case, rules), sort_keys=False))
    result = promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    for name in alerts.alert_names():
        fires = {case.fires for case in CASES if case.alert == name}
        lacking = "quiet" if True in fires else "firing"
        assert fires == {True, False}, f"{name} lacks a {lacking} case"


def test_a_threshold_changes_the_outcome_of_the_same_series() -> None:
    by_series = {}
    for case in CASES:
        by_series.setdefault((case.alert, repr(case.series), case.eval_time), set()).add(case.fires)
    assert any(outcomes == {True, False} for outcomes in by_series.values())


def test_annotations_template_only_labels() -> None:
    # promtool compares expanded annotations: expected_alert expands `{{ $labels.x }}` only.
    for rule in rules_by_name(AlertThresholds()).values():
        for text in rule["annotations"].values():
            assert "{{" not in LABEL_TEMPLATE.sub("", text), text


def test_every_rule_names_severity_and_its_runbook_section() -> None:
    page = (REPO_ROOT / "docs" / "monitoring.md").read_text()
    headings = {line.removeprefix("### ").strip().lower()
                for line in page.splitlines() if line.startswith("### ")}
    for name, rule in rules_by_name(AlertThresholds()).items():
        assert re.fullmatch(r"Mlops[A-Z][A-Za-z]+", name)
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert {"summary", "description"} <= set(rule["annotations"])
        page_name, anchor = rule["annotations"][RUNBOOK_ANNOTATION].split("#")
        assert page_name == "docs/monitoring.md" and anchor in headings, name


def test_a_bad_threshold_is_refused_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "thresholds.yaml"
    config.write_text("latency_p99_seconds: 0.3\nbackup_period: 1 day\n")
    with pytest.raises(SystemExit, match=r"backup_period: .*'1 day' is not a Prometheus duration"):
        alerts.main(["--output", str(tmp_path / "rules.yaml"), "--thresholds", str(config)])
    assert not (tmp_path / "rules.yaml").exists()


def test_the_command_writes_the_rules_with_the_given_thresholds(tmp_path: Path) -> None:
    config = tmp_path / "thresholds.yaml"
    config.write_text("latency_p99_seconds: 0.3\n")
    output = tmp_path / "out" / "rules.yaml"
    assert alerts.main(["--output", str(output), "--thresholds", str(config)]) == 0
    written = yaml.safe_load(output.read_text())
    assert written == {"groups": rule_groups(AlertThresholds(latency_p99_seconds=0.3))}
    assert "> 0.3" in written["groups"][0]["rules"][0]["expr"]
