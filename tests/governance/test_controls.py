"""The control catalogue is data every check kind can run."""

from __future__ import annotations

import inspect

from mlops_platform.governance.checks import CHECKS
from mlops_platform.governance.controls import CATALOGUE, LEVELS, controls_of_level


def test_ids_are_unique_and_carry_their_level() -> None:
    ids = [control.id for control in CATALOGUE]
    assert len(ids) == len(set(ids))
    assert all(control.id.startswith(f"L{control.level}-") for control in CATALOGUE)


def test_every_level_has_controls() -> None:
    assert all(controls_of_level(level) for level in LEVELS)


def test_every_evidence_names_a_check_kind_with_arguments_it_accepts() -> None:
    for control in CATALOGUE:
        assert control.evidence, control.id
        for kind, arguments in control.evidence:
            assert kind in CHECKS, (control.id, kind)
            inspect.signature(CHECKS[kind]).bind(None, **arguments)


def test_each_control_describes_itself_and_how_it_is_checked() -> None:
    for control in CATALOGUE:
        assert control.title and control.description.endswith("."), control.id
        assert control.how_checked.startswith(control.evidence[0][0]), control.id
