"""The split's promises: one arm per key for the whole test, the weight's share within the
stated tolerance, tests independent of each other, and canary steps that only add keys."""

from __future__ import annotations

import itertools
import random

import pytest

from mlops_platform.traffic_split import Split, share_tolerance

KEYS = [f"customer-{index}" for index in range(20_000)]


def share(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


def test_a_key_gets_the_same_arm_every_time_and_in_any_company() -> None:
    split = Split(0.3, "models:/churn/4")
    alone = [split.to_challenger([key])[0] for key in KEYS[:500]]
    shuffled = KEYS[:500]
    random.Random(7).shuffle(shuffled)
    together = dict(zip(shuffled, split.to_challenger(shuffled), strict=True))
    assert alone == [together[key] for key in KEYS[:500]]


@pytest.mark.parametrize("weight", [0.05, 0.25, 0.5, 0.9])
def test_the_challengers_share_is_its_weight_within_the_tolerance(weight: float) -> None:
    observed = share(Split(weight, "models:/churn/4").to_challenger(KEYS))
    assert abs(observed - weight) <= share_tolerance(len(KEYS), weight)


def test_rows_without_a_key_are_split_at_random_with_the_weight() -> None:
    flags = Split(0.2, "models:/churn/4").to_challenger([None] * len(KEYS))
    assert abs(share(flags) - 0.2) <= share_tolerance(len(KEYS), 0.2)
    assert 0 < sum(flags) < len(flags)


def test_another_test_assigns_afresh() -> None:
    first = Split(0.5, "models:/churn/4").to_challenger(KEYS)
    second = Split(0.5, "models:/churn/5").to_challenger(KEYS)
    agreeing = share([a == b for a, b in zip(first, second, strict=True)])
    assert abs(agreeing - 0.5) <= share_tolerance(len(KEYS), 0.5)


def test_a_canary_step_keeps_the_challengers_keys_and_adds_others() -> None:
    steps = [Split(weight, "models:/churn/4").to_challenger(KEYS) for weight in (0.05, 0.25, 0.5)]
    for smaller, larger in itertools.pairwise(steps):
        assert all(later for earlier, later in zip(smaller, larger, strict=True) if earlier)
        assert sum(larger) > sum(smaller)


def test_an_integral_float_key_is_the_integer_key() -> None:
    split = Split(0.5, "models:/churn/4")
    ids = list(range(200))
    assert split.to_challenger(ids) == split.to_challenger([float(key) for key in ids])


@pytest.mark.parametrize(("weight", "salt"), [(0.0, "s"), (1.5, "s"), (-0.1, "s"), (0.5, "")])
def test_a_weight_outside_zero_to_one_or_no_salt_is_refused(weight: float, salt: str) -> None:
    with pytest.raises(ValueError, match=r"weight|salt"):
        Split(weight, salt)
