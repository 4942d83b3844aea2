"""The gate's rule from params.yaml and its decision, without a server."""

from __future__ import annotations

import pytest
import yaml

from mlops_platform import contract as ml_contract
from mlops_platform.governance.project import Project
from mlops_platform.governance.promotion_gate import (
    PROMOTED,
    REFUSED,
    GateConfigError,
    PromotionRule,
    decide,
)
from mlops_platform.governance.registry import VersionFacts
from tests.policies.model_versions import lineage


def rule(**changes: object) -> PromotionRule:
    values = {"model_name": "m", "primary_metric": "rmse", "threshold": 10.0, "tolerance": 0.5,
              "higher_is_better": False, "maturity_level": 1}
    return PromotionRule(**{**values, **changes})


def facts(version: str, rmse: float, **tags: str) -> VersionFacts:
    return VersionFacts(model_name="m", version=version, run_id=f"run{version}",
                        tags={**lineage(), **tags}, metrics={"rmse": rmse},
                        artifacts=frozenset({ml_contract.MODEL_CARD_ARTIFACT}))


@pytest.mark.parametrize(("candidate", "champion", "outcome"), [
    (8.0, None, PROMOTED), (11.0, None, REFUSED), (9.4, 9.0, PROMOTED), (9.6, 9.0, REFUSED)],
    ids=["under-threshold", "over-threshold", "within-tolerance", "beyond-tolerance"])
def test_lower_is_better_metrics_compare_the_other_way(candidate, champion, outcome) -> None:
    current = facts("1", champion) if champion is not None else None

    assert decide(rule(), facts("2", candidate), current, "local")[0] == outcome


def test_every_failed_condition_is_a_reason() -> None:
    bare = VersionFacts(model_name="m", version="3", run_id="", tags={}, metrics={},
                        artifacts=frozenset())

    outcome, checks, reasons = decide(rule(maturity_level=2), bare, None, "local")

    assert outcome == REFUSED
    assert [check.name for check in checks if not check.passed] == [
        "threshold", "data_validation", "lineage", "model_card", "approval"]
    assert reasons[0] == ("version 3 has no metric 'rmse' on its run: run the evaluate stage "
                          "before promoting")


def test_a_params_file_without_the_promotion_keys_names_them(tmp_path) -> None:
    params = {"project": {"maturity_level": 3}, "model": {"name": "m"},
              "promotion": {"primary_metric": "f1", "threshold": "high", "tolerance": -1}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))

    with pytest.raises(GateConfigError) as raised:
        PromotionRule.from_project(Project.open(tmp_path))

    assert str(raised.value) == (
        f"{tmp_path / 'params.yaml'}: promotion.higher_is_better is missing; "
        "promotion.threshold must be a number, got 'high'; promotion.tolerance must be >= 0; "
        "project.maturity_level must be 0, 1 or 2 (see the promotion keys in "
        "policies/ml_contract.py)")
