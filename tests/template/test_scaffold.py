"""The post-generation logic on its own: pruning, platform outputs, the inferred contract."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_platform.contract import PlatformOutputs
from mlops_platform.scaffold.data_contract import column_contract, infer_contract
from mlops_platform.scaffold.environment import copy_locks
from mlops_platform.scaffold.layout import remove_unused, unused_paths
from mlops_platform.scaffold.platform_outputs import dvc_remote_url, local_platform_outputs


def outputs_with_store(uri: str) -> PlatformOutputs:
    return PlatformOutputs(tracking_uri="http://127.0.0.1:5000", registry_uri="http://127.0.0.1:5000",
                           artifact_store_uri=uri, environment="local", namespace="local")


def test_each_provider_drops_the_other_ci_file() -> None:
    assert unused_paths(2, "github", "feast") == [".gitlab-ci.yml"]
    assert unused_paths(2, "gitlab", "feast") == [".github"]


def test_levels_below_two_drop_the_deployment_manifests() -> None:
    assert "deploy" in unused_paths(0, "github")
    assert "deploy" in unused_paths(1, "gitlab")
    assert "deploy" not in unused_paths(2, "github")


def test_pruning_tolerates_parts_not_written_yet(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    remove_unused(tmp_path, 0, "gitlab")  # no .gitlab-ci.yml, no deploy/: nothing to remove
    assert not (tmp_path / ".github").exists()


def test_tool_caches_of_the_template_checkout_are_dropped(tmp_path: Path) -> None:
    for cache in (".ruff_cache/0.17.6", "src/pkg/__pycache__", ".pytest_cache"):
        (tmp_path / cache).mkdir(parents=True)
        (tmp_path / cache / "entry").write_text("{{ cookiecutter.project_slug }}")
    (tmp_path / "src/pkg/train.py").write_text("")
    remove_unused(tmp_path, 2, "github")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "src", "src/pkg", "src/pkg/train.py"]


def test_the_dvc_remote_sits_beside_the_artifacts() -> None:
    assert dvc_remote_url(outputs_with_store("file:///srv/platform/my%20artifacts")) == (
        "/srv/platform/my artifacts/dvc")
    assert dvc_remote_url(outputs_with_store("s3://bucket/mlflow/")) == "s3://bucket/mlflow/dvc"


def test_the_local_default_uses_a_running_platform(tmp_path: Path) -> None:
    running = outputs_with_store("file:///elsewhere")
    running.write(tmp_path / ".platform" / "outputs.json")
    assert local_platform_outputs(tmp_path) == running


def test_without_a_running_platform_the_default_port_is_assumed(tmp_path: Path) -> None:
    outputs = local_platform_outputs(tmp_path)
    assert outputs.tracking_uri == "http://127.0.0.1:5000"
    assert outputs.artifact_store_uri == (tmp_path / ".platform" / "artifacts").as_uri()


def test_an_inferred_column_contract_keeps_types_nulls_ranges_and_categories() -> None:
    assert column_contract("x", ["1.5", "2", ""]) == {
        "name": "x", "nullable": True, "dtype": "float", "min": 1.5, "max": 2}
    assert column_contract("y", ["0", "1", "1"]) == {
        "name": "y", "nullable": False, "dtype": "int", "allowed": [0, 1]}
    assert column_contract("z", ["b", "a", "b"]) == {
        "name": "z", "nullable": False, "dtype": "str", "allowed": ["a", "b"]}


def test_a_csv_contract_lists_every_column(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("size,colour,label\n" + "".join(f"{i},red,{i % 2}\n" for i in range(30)))
    contract = infer_contract(data, "label")
    assert contract["target"] == "label"
    assert [column["name"] for column in contract["columns"]] == ["size", "colour", "label"]
    assert json.dumps(contract)  # plain data, ready for YAML


def test_without_a_feature_store_the_feast_files_are_dropped() -> None:
    dropped = unused_paths(1, "github", "none", "churn")
    assert {"feature_repo", "src/churn/feature_store.py", "tests/test_feature_store.py"} <= set(
        dropped)
    assert "feature_repo" not in unused_paths(1, "github", "feast", "churn")


def test_a_feast_project_gets_the_lock_with_feast(tmp_path: Path) -> None:
    checkout = Path(__file__).resolve().parents[2]
    for feature_store, lock in (("none", "project.txt"), ("feast", "project-feast.txt")):
        project = tmp_path / feature_store
        project.mkdir()
        copy_locks(checkout, project, feature_store)
        assert (project / "requirements.lock").read_text() == (
            checkout / "requirements" / lock).read_text()
    assert "feast==" in (tmp_path / "feast" / "requirements.lock").read_text()
    assert "feast==" not in (tmp_path / "none" / "requirements.lock").read_text()
