"""Post-generation hook: prune, platform outputs, data contract, locks (scaffold.hooks)."""

import json
import sys
from pathlib import Path

# Cookiecutter runs this file from a temporary copy, in cookiecutter's own environment
# (nothing of ours installed): import the scaffold from the checkout being rendered. It
# needs only the standard library and PyYAML, which cookiecutter itself depends on.
# `cruft update` (make update) renders without `_repo_dir`: its `_template` is the checkout.
REPO_DIR = r"""{{ cookiecutter._repo_dir | default(cookiecutter._template ~ '/template') }}"""
PLATFORM_SOURCE = Path(REPO_DIR).parent / "src"
sys.path.insert(0, str(PLATFORM_SOURCE))

from mlops_platform.scaffold.hooks import run_post_generation  # noqa: E402

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

raise SystemExit(run_post_generation(CONTEXT, Path.cwd()))
