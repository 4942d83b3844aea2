"""The gate's rule from params.yaml and its decision, without a server."""

from __future__ import annotations

import pytest
import yaml

from mlops_platform import contract as ml_contract
from mlops_platform.client.project import Project
from mlops_platform.client.registry import VersionFacts
from mlops_platform.governance.evaluation import Measurement
from mlops_platform.governance.promotion_gate import (
    PROMOTED,
    REFUSED,
    PromotionRule,
    decide,
)
from mlops_platform.params import ParamsError
from tests.governance.model_versions import lineage


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

    measured = {"2": Measurement(candidate), "1": Measurement(champion)}

    assert decide(rule(), facts("2", candidate), current, "local", measured)[0] == outcome


def test_every_failed_condition_is_a_reason() -> None:
    bare = VersionFacts(model_name="m", version="3", run_id="", tags={}, metrics={},
                        artifacts=frozenset())

    outcome, checks, reasons = decide(rule(maturity_level=2, approval_required=True), bare,
                                      None, "local", {})

    assert outcome == REFUSED
    assert [check.name for check in checks if not check.passed] == [
        "threshold", "data_validation", "lineage", "model_card", "explanations", "approval"]
    assert reasons[0] == ("version 3 has no metric 'rmse' on its run: run the evaluate stage "
                          "before promoting")


def test_a_params_file_without_the_promotion_keys_names_them(tmp_path) -> None:
    params = {"project": {"maturity_level": 3}, "model": {"name": "m"},
              "promotion": {"primary_metric": "f1", "threshold": "high", "tolerance": -1}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))

    with pytest.raises(ParamsError) as raised:
        PromotionRule.from_project(Project.open(tmp_path))

    assert str(raised.value) == (
        f"{tmp_path / 'params.yaml'}: project.maturity_level = 3 is not valid: one of 0, 1, 2; "
        "promotion.threshold = 'high' is not valid: a number; "
        "promotion.tolerance = -1 is not valid: a number of 0 or more; "
        "promotion.higher_is_better is missing: add it (true or false)")


def test_the_rule_is_read_from_the_validated_params(tmp_path) -> None:
    params = {"project": {"maturity_level": 1}, "model": {"name": "m"},
                    "promotion": {"primary_metric": "rmse", "threshold": 10, "tolerance": 0.5,
                                  "higher_is_better": False}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))

    assert PromotionRule.from_project(Project.open(tmp_path)) == rule()
