"""The names a project may not take, from the project's lock and a real environment."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_platform.scaffold.shadowing import (
    IMPORT_NAMES_FILE,
    PROJECT_LOCK,
    differing_import_names,
    import_names,
    locked_distributions,
)
from tests.template.baking import REPO_ROOT

LOCK = REPO_ROOT / PROJECT_LOCK


def test_the_import_names_agree_with_this_environment() -> None:
    """The dev environment holds the project's locked packages: what their import names are
    here is what the bake, in a plain cookiecutter, reads from import_names.json."""
    recorded = json.loads(IMPORT_NAMES_FILE.read_text())
    assert differing_import_names(locked_distributions(LOCK)) == recorded, (
        "import_names.json is stale: run `.venv/bin/python -m mlops_platform.scaffold.shadowing`")


def test_the_lock_names_its_distributions_normalised() -> None:
    distributions = locked_distributions(LOCK)
    assert {"scikit-learn", "pyyaml", "mlflow", "mlops-platform"} <= set(distributions)
    assert all(name == name.lower() and "_" not in name for name in distributions)


def test_import_names_differ_from_distribution_names_where_recorded() -> None:
    names = import_names(["scikit-learn", "pyyaml", "mlflow", "python-dateutil", "pillow"])
    assert names["sklearn"] == "scikit-learn"
    assert names["yaml"] == "pyyaml"
    assert names["mlflow"] == "mlflow"
    assert names["dateutil"] == "python-dateutil"
    assert "scikit_learn" not in names
    assert "pillow" not in names


def test_a_lock_with_extras_and_comments_is_read(tmp_path: Path) -> None:
    lock = tmp_path / "project.txt"
    lock.write_text("Foo_Bar==1.0 \\\n    --hash=sha256:00\n    # via baz\n"
                    "uvicorn[standard]==0.30 \\\n    --hash=sha256:11\n")
    assert locked_distributions(lock) == ["foo-bar", "mlops-platform", "uvicorn"]
