"""`pulumi up` here serves what `deploy/<stack>.yaml` declares; edit that file, never this one."""

from pathlib import Path

import pulumi
from mlops_platform.api import deploy_manifest_file

manifest = Path(__file__).resolve().parent / f"{pulumi.get_stack()}.yaml"
for key, value in deploy_manifest_file(manifest).items():
    pulumi.export(key, value)
