"""Which arm of an A/B test answers a row: fixed by the row's entity key, random without one.

A row whose data contract names an ``entity_key`` (a customer id, say) goes to the challenger
when SHA-256 of the test's salt and the key, read as a fraction of 1, falls below the
challenger's weight. So:

- the same key gets the same arm for the whole test: a customer sees one model;
- another test (another salt: the challenger's model URI) assigns afresh;
- raising the weight (a canary's 5 -> 25 -> 50 %) keeps every key already on the challenger
  there, and moves only champion keys over;
- over many keys the challenger's share converges to its weight, whatever the load: no
  counter, clock or process state takes part.

A row without a key (no ``entity_key`` in the contract, or a null one) is assigned at random
with the same probability. Either way the challenger's share of ``n`` rows stays within
``share_tolerance(n, weight)`` of its weight but for one test in about 16,000 (four standard
errors of a binomial share).

Standard library only: the serving runtime imports it in MLServer's environment.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

# Standard errors the observed share may stray from the weight (two-sided p about 6e-5).
TOLERANCE_STANDARD_ERRORS = 4.0
_FRACTION = 2.0**64


@dataclass(frozen=True)
class Split:
    """The challenger's share of rows (``weight``, above 0 and at most 1) in the test ``salt``."""

    weight: float
    salt: str

    def __post_init__(self) -> None:
        if not 0.0 < self.weight <= 1.0:
            raise ValueError(f"the challenger's weight {self.weight} must be above 0 and at "
                             "most 1 (0.1 sends it a tenth of the rows)")
        if not self.salt:
            raise ValueError("an A/B test needs a salt (its challenger's model URI)")

    def to_challenger(self, keys: Sequence[object]) -> list[bool]:
        """For each row's entity key (None: the row has none), whether the challenger answers."""
        return [self._position(key) < self.weight if key is not None
                else random.random() < self.weight  # noqa: S311 (an assignment, not a secret)
                for key in keys]

    def _position(self, key: object) -> float:
        digest = hashlib.sha256(f"{self.salt}\x00{_canonical(key)}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / _FRACTION


def _canonical(key: object) -> str:
    """One spelling per key: JSON may carry the id 42 as 42 or 42.0."""
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def share_tolerance(rows: int, weight: float) -> float:
    """How far the challenger's share of ``rows`` rows may stray from ``weight`` by chance."""
    if rows <= 0:
        return 1.0
    return TOLERANCE_STANDARD_ERRORS * math.sqrt(weight * (1 - weight) / rows)
