"""Monitoring: `make drift` fails (CI retrains) when the champion is older than declared."""

from __future__ import annotations

from {{ cookiecutter.package_name }}.monitor import DAY_MS, staleness_problem
from {{ cookiecutter.package_name }}.params import Params

NOW_MS = 1_800_000_000_000


def test_a_champion_younger_than_the_declared_age_is_fresh(params: Params) -> None:
    max_age = params.monitoring.max_model_age_days
    assert staleness_problem(NOW_MS - int(max_age * DAY_MS) + 1, NOW_MS, max_age) is None


def test_an_older_champion_is_stale_naming_the_key(params: Params) -> None:
    max_age = params.monitoring.max_model_age_days
    problem = staleness_problem(NOW_MS - int((max_age + 1) * DAY_MS), NOW_MS, max_age)
    assert problem == (f"the champion is {max_age + 1:.1f} days old, more than "
                       f"monitoring.max_model_age_days = {max_age:g}: retrain it")
