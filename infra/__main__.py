"""`pulumi up` entry point: build the platform of the selected stack and export its outputs."""

import pulumi

from infra.program import build_platform

for key, value in build_platform().items():
    pulumi.export(key, value)
