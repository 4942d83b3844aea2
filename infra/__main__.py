"""`pulumi up` entry point: build the platform of the selected stack and export its outputs."""

import sys
from pathlib import Path

# Pulumi runs this folder as a script (sys.path[0] is infra/); the components import each
# other as `infra.<module>`, so the repository root must be importable too.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import pulumi

from infra.program import build_platform

for key, value in build_platform().items():
    pulumi.export(key, value)
