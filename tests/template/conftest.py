"""The template's hook logic (template/project_scaffold) is importable in these tests."""

from __future__ import annotations

import sys

from tests.template.baking import TEMPLATE_DIR

if str(TEMPLATE_DIR) not in sys.path:
    sys.path.insert(0, str(TEMPLATE_DIR))
