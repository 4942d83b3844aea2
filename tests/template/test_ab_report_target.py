"""A baked project's `make ab-report`: the plan in ab_test.yaml decided on monitoring/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlops_platform.ab_test import JSON_REPORT
from mlops_platform.prediction_log import CHALLENGER_ARM, CHAMPION_ARM
from tests.ab_test.test_ab_test import SMALL_PLAN, write_test
from tests.template.baking import bake, make

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default project whose two arms logged and got labels (as the servers write them)."""
    project = bake(tmp_path_factory.mktemp("ab-report"))
    write_test(project / "monitoring", {CHAMPION_ARM: (40, 24), CHALLENGER_ARM: (40, 39)})
    return project


def test_ab_report_decides_the_plan_and_writes_its_reports(project: Path) -> None:
    (project / "ab_test.yaml").write_text(yaml.safe_dump(SMALL_PLAN))
    result = make(project, "ab-report")
    assert "\nBETTER: the challenger's gain is above 0" in result.stdout
    summary = json.loads((project / "monitoring" / "ab_test" / JSON_REPORT).read_text())
    assert summary["planned_sample_size"] == {CHAMPION_ARM: 24, CHALLENGER_ARM: 24}


def test_ab_report_without_a_plan_says_to_write_one(project: Path) -> None:
    result = make(project, "ab-report", "PLAN=no_plan.yaml", check=False)
    assert "ab-report] Error 2" in result.stderr
    assert "mlops-ab-report: cannot read the plan no_plan.yaml" in result.stderr
