"""Pre-generation hook: check every variable (mlops_platform.scaffold.options) before writing anything."""

import json
import sys
from pathlib import Path

# Cookiecutter runs this file from a temporary copy: find the template (and the
# platform package beside it) through the directory cookiecutter rendered in.
TEMPLATE_DIR = Path(r"""{{ cookiecutter._repo_dir }}""")
sys.path[:0] = [str(TEMPLATE_DIR), str(TEMPLATE_DIR.parent)]

try:
    from mlops_platform.scaffold.hooks import run_pre_generation
except ImportError as err:
    sys.exit(f"error: the template's hooks need the platform's Python packages ({err}); run "
             "cookiecutter from the platform repository's environment: .venv/bin/cookiecutter")

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

raise SystemExit(run_pre_generation(CONTEXT))
