"""The Kubeflow Pipelines form of a project's DVC pipeline: the plan read from dvc.yaml and
params.yaml, the compiled YAML, the local run with the KFP SDK's runner, and bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_platform import kfp_pipeline
from mlops_platform.kfp_pipeline import KfpPipelineError, read_plan

# A project's pipeline in miniature, listed out of order: the plan orders it by deps and outs.
STAGES = {
    "register": {"cmd": "echo register > reports/registration.json",
                 "deps": ["models/model.txt", "reports/metrics.json"],
                 "outs": [{"reports/registration.json": {"cache": False}}]},
    "promote": {"cmd": "echo promoted > reports/promotion.json",
                "deps": ["reports/registration.json"],
                "outs": [{"reports/promotion.json": {"cache": False}}]},
    "train": {"cmd": "mkdir -p models && echo model > models/model.txt",
              "deps": ["data.txt"], "outs": [{"models/model.txt": {"cache": False}}]},
    "announce": {"cmd": "echo announced > reports/announced.txt",
                 "deps": ["reports/promotion.json"],
                 "outs": [{"reports/announced.txt": {"cache": False}}]},
    "evaluate": {"cmd": "mkdir -p reports && echo '{\"roc_auc\": 0.93, \"f1\": 0.9}' "
                        "> reports/metrics.json",
                 "deps": ["models/model.txt"],
                 "metrics": [{"reports/metrics.json": {"cache": False}}]},
}
ORDER = ["train", "evaluate", "register", "promote", "announce"]


def write_project(root: Path, stages: dict | None = None, threshold: float = 0.9,
                  higher_is_better: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages or STAGES}))
    (root / "params.yaml").write_text(yaml.safe_dump({"promotion": {
        "primary_metric": "roc_auc", "threshold": threshold,
        "higher_is_better": higher_is_better}}))
    (root / "pyproject.toml").write_text('[project]\nname = "tiny-model"\nversion = "1.2.0"\n')
    (root / "data.txt").write_text("rows\n")
    return root


def test_the_plan_orders_stages_by_their_deps_and_outs(tmp_path: Path) -> None:
    plan = read_plan(write_project(tmp_path))
    assert plan.stages == tuple(ORDER)
    assert plan.conditional == ("promote", "announce")  # promote and what depends on it
    assert plan.metric_stage == "evaluate"
    assert (plan.primary_metric, plan.threshold, plan.higher_is_better) == ("roc_auc", 0.9, True)
    assert (plan.name, plan.image) == ("tiny-model", "tiny-model:1.2.0")


def test_the_condition_follows_the_metric_direction(tmp_path: Path) -> None:
    higher = read_plan(write_project(tmp_path / "higher"))
    lower = read_plan(write_project(tmp_path / "lower", higher_is_better=False))
    assert higher.holds(0.9, 0.9) and higher.holds(0.95, 0.9) and not higher.holds(0.89, 0.9)
    assert lower.holds(0.85, 0.9) and not lower.holds(0.95, 0.9)


def compiled(project: Path, name: str = "pipeline.yaml", **options: str) -> dict:
    output = project / "kfp" / name
    kfp_pipeline.compile_pipeline(read_plan(project, **options), output)
    return yaml.safe_load(output.read_text())


def test_one_named_component_per_stage_and_promote_under_the_condition(tmp_path: Path) -> None:
    spec = compiled(write_project(tmp_path))
    components = spec["components"]
    assert set(components) == {f"comp-{stage}" for stage in ORDER} | {"comp-condition-1"}
    root = spec["root"]["dag"]["tasks"]
    assert set(root) == {"train", "evaluate", "register", "condition-1"}
    condition = root["condition-1"]
    assert condition["triggerPolicy"]["condition"] == (
        "inputs.parameter_values['pipelinechannel--evaluate-Output'] >= "
        "inputs.parameter_values['pipelinechannel--threshold']")
    assert set(components["comp-condition-1"]["dag"]["tasks"]) == {"promote", "announce"}
    assert spec["root"]["inputDefinitions"]["parameters"]["threshold"]["defaultValue"] == 0.9
    assert spec["root"]["inputDefinitions"]["parameters"]["workspace"]["defaultValue"] == (
        kfp_pipeline.DEFAULT_WORKSPACE)
    # evaluate outputs the metric; the others output nothing.
    assert components["comp-evaluate"]["outputDefinitions"]["parameters"]["Output"][
        "parameterType"] == "NUMBER_DOUBLE"
    assert "outputDefinitions" not in components["comp-train"]


def test_tasks_run_one_after_another_uncached_with_the_stage_as_argument(
        tmp_path: Path) -> None:
    spec = compiled(write_project(tmp_path))
    root = spec["root"]["dag"]["tasks"]
    inner = spec["components"]["comp-condition-1"]["dag"]["tasks"]
    assert root["evaluate"]["dependentTasks"] == ["train"]
    assert root["register"]["dependentTasks"] == ["evaluate"]
    assert inner["announce"]["dependentTasks"] == ["promote"]
    for name, task in {**root, **inner}.items():
        if name != "condition-1":
            # {}: enableCache false (protobuf leaves a false field out).
            assert task["cachingOptions"] == {}, name
            assert task["inputs"]["parameters"]["stage"]["runtimeValue"]["constant"] == name


def test_the_executors_install_nothing_and_run_the_stage_with_dvc(tmp_path: Path) -> None:
    spec = compiled(write_project(tmp_path), image="registry.example/tiny@sha256:" + "a" * 64)
    executors = spec["deploymentSpec"]["executors"]
    assert set(executors) == {f"exec-{stage}" for stage in ORDER}
    for executor in executors.values():
        container = executor["container"]
        assert container["image"] == "registry.example/tiny@sha256:" + "a" * 64
        # KFP's own script only (no `pip install` prelude), then the function's source.
        assert container["command"][:2] == ["sh", "-ec"]
        assert container["command"][2].startswith("program_path=$(mktemp -d)")
        assert "pip install" not in " ".join(container["command"])
        assert '"dvc", "repro", "--single-item", stage' in container["command"][3]
    assert executors["exec-evaluate"]["container"]["args"][-1] == "run_metric_stage"
    assert executors["exec-train"]["container"]["args"][-1] == "run_stage"


def test_lower_is_better_compiles_to_at_most_the_threshold(tmp_path: Path) -> None:
    spec = compiled(write_project(tmp_path, higher_is_better=False, threshold=0.2))
    condition = spec["root"]["dag"]["tasks"]["condition-1"]["triggerPolicy"]["condition"]
    assert " <= " in condition
    assert spec["root"]["inputDefinitions"]["parameters"]["threshold"]["defaultValue"] == 0.2


def test_compiling_is_deterministic(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    first, second = project / "a.yaml", project / "b.yaml"
    kfp_pipeline.compile_pipeline(read_plan(project), first)
    kfp_pipeline.compile_pipeline(read_plan(project), second)
    assert first.read_bytes() == second.read_bytes()
    (project / "params.yaml").write_text((project / "params.yaml").read_text().replace(
        "0.9", "0.95"))
    kfp_pipeline.compile_pipeline(read_plan(project), second)
    assert first.read_bytes() != second.read_bytes()


def test_without_a_promote_stage_nothing_is_conditional(tmp_path: Path) -> None:
    stages = {name: spec for name, spec in STAGES.items() if name not in ("promote", "announce")}
    spec = compiled(write_project(tmp_path, stages))
    assert set(spec["root"]["dag"]["tasks"]) == {"train", "evaluate", "register"}


@pytest.mark.parametrize(("change", "message"), [
    (lambda root: (root / "dvc.yaml").unlink(), "dvc.yaml is missing"),
    (lambda root: (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {
        name: {**spec, "metrics": []} for name, spec in STAGES.items()}})),
     "no stage declares reports/metrics.json under metrics:"),
    (lambda root: (root / "params.yaml").write_text("promotion:\n  threshold: 0.9\n"),
     "params.yaml has no promotion.primary_metric"),
    (lambda root: (root / "params.yaml").write_text(
        "promotion:\n  primary_metric: roc_auc\n  threshold: high\n"),
     "promotion.threshold is 'high': give a number"),
    (lambda root: (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {
        **STAGES, "train": {**STAGES["train"], "deps": ["reports/registration.json"]}}})),
     "depend on each other's outputs in a circle"),
    (lambda root: (root / "pyproject.toml").write_text("[project]\n"),
     "has no [project] name and version"),
], ids=["no-dvc-yaml", "no-metrics-stage", "no-primary-metric", "threshold-not-a-number",
        "circle", "no-project-name"])
def test_bad_input_names_the_problem_and_the_fix(tmp_path: Path, change, message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path)
    change(project)
    with pytest.raises(KfpPipelineError, match=re.escape(message)):
        read_plan(project)
    assert kfp_pipeline.main(["compile", "--project", str(project)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("image", ["tiny-model", "tiny-model:latest", "registry:5000/tiny"])
def test_an_unpinned_image_is_refused(tmp_path: Path, image: str) -> None:
    with pytest.raises(KfpPipelineError, match="is not pinned: give a tag other than latest"):
        read_plan(write_project(tmp_path), image=image)


def test_a_pinned_registry_image_with_a_port_is_accepted(tmp_path: Path) -> None:
    assert read_plan(write_project(tmp_path), image="registry:5000/tiny:1.0").image == (
        "registry:5000/tiny:1.0")


# The local run: real DVC stages (shell commands) in a real git + DVC repository.
def dvc_project(root: Path) -> Path:
    project = write_project(root)
    for command in (["git", "init", "--quiet"], [sys.executable, "-m", "dvc", "init", "--quiet"]):
        subprocess.run(command, cwd=project, check=True, capture_output=True)
    return project


def locked_stages(project: Path) -> set[str]:
    return set(yaml.safe_load((project / "dvc.lock").read_text())["stages"])


def test_the_local_run_skips_promotion_below_the_threshold_then_runs_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = dvc_project(tmp_path)
    assert kfp_pipeline.main(["run", "--project", str(project), "--threshold", "0.99"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary == {"metric": "roc_auc", "value": 0.93, "threshold": 0.99,
                       "ran": ["train", "evaluate", "register"],
                       "skipped": ["promote", "announce"]}
    assert not (project / "reports/promotion.json").exists()
    assert locked_stages(project) == {"train", "evaluate", "register"}  # DVC recorded each

    assert kfp_pipeline.main(["run", "--project", str(project)]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["threshold"] == 0.9 and summary["skipped"] == []
    assert summary["ran"] == ORDER
    assert (project / "reports/promotion.json").read_text() == "promoted\n"
    assert locked_stages(project) == set(ORDER)


def test_a_metric_the_metrics_file_lacks_fails_the_run_naming_it(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    project = dvc_project(tmp_path)
    (project / "params.yaml").write_text(
        "promotion:\n  primary_metric: accuracy\n  threshold: 0.9\n")
    assert kfp_pipeline.main(["run", "--project", str(project)]) == 1
    out, err = capfd.readouterr()
    assert "reports/metrics.json has no metric 'accuracy' (it has f1, roc_auc)" in out + err
    assert "error: the local run failed" in err
    assert not (project / "reports/registration.json").exists()
