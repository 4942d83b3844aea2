"""The shared recovery project of the template tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.template.baking import TEMPLATE_DIR
from tests.template.recovery import Recovery, run_recovery

if str(TEMPLATE_DIR) not in sys.path:
    sys.path.insert(0, str(TEMPLATE_DIR))


@pytest.fixture(scope="session")
def recovery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recovery]:
    yield from run_recovery(tmp_path_factory.mktemp("recovery"))
