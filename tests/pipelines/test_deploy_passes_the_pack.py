"""What `make deploy ENV=<env>` writes into the template's deploy/<env>.yaml, applied by the
project's deploy program (mocked engine) against the platform of that environment, passes that
environment's policy pack with no mandatory finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_platform.deploy.gitops import SERVING_PROFILES, with_version, write_manifest
from mlops_platform.deploy.manifest import load_deployment
from mlops_platform.deploy.program import deploy_manifest_file
from mlops_platform.local_cluster.mocked_engine import RecordedStack, run_program, run_stack
from policies.platform_pack.platform_rules.catalog import pack_config
from tests.infra.stacks import pinned_images
from tests.policies.platform_pack_harness import evaluate, from_wire

TEMPLATE = Path(__file__).parents[2] / "template" / "{{cookiecutter.project_slug}}"
TEMPLATE_DEPLOY = TEMPLATE / "deploy"
BAKED = {"{{ cookiecutter.platform_stack_prefix }}": "acme/mlops-platform",
         "{{ cookiecutter.model_name }}": "churn-model"}


def baked_manifest(env: str, into: Path) -> Path:
    text = (TEMPLATE_DEPLOY / f"{env}.yaml").read_text()
    for placeholder, value in BAKED.items():
        text = text.replace(placeholder, value)
    path = into / f"{env}.yaml"
    path.write_text(text)
    return path


def written_by_make_deploy(env: str, into: Path) -> Path:
    """The file after `make deploy ENV=<env>` pinned version 3, approved by alice."""
    path = baked_manifest(env, into)
    write_manifest(path, with_version(load_deployment(path), "churn-model", 3, "alice"))
    return path


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_what_make_deploy_writes_passes_the_pack_of_its_environment(env: str,
                                                                     tmp_path: Path) -> None:
    path = written_by_make_deploy(env, tmp_path)
    platform = run_stack(env, pinned_images(env)).outputs
    manifest = load_deployment(path)
    recorded = run_program_of(path, env, {manifest.platform_stack: platform})

    violations = evaluate([from_wire(r.type_, r.name, r.urn, r.inputs)
                           for r in recorded.resources], env)

    mandatory = [v.message for v in violations if v.mandatory]
    assert not mandatory, "\n".join(mandatory)


def test_before_the_fix_prod_was_refused(tmp_path: Path) -> None:
    """The same check catches what `make deploy ENV=prod` used to write (one replica, no
    approver): the test above could fail."""
    path = baked_manifest("prod", tmp_path)
    manifest = load_deployment(path)
    old = manifest.model_validate({**manifest.model_dump(), "models": [
        {"name": "churn-model", "version": 3}]})
    write_manifest(path, old)
    platform = run_stack("prod", pinned_images("prod")).outputs
    recorded = run_program_of(path, "prod", {manifest.platform_stack: platform})
    policies = {v.policy for v in evaluate([from_wire(r.type_, r.name, r.urn, r.inputs)
                                            for r in recorded.resources], "prod")
                if v.mandatory}
    assert {"minimum-replicas", "served-model-approved"} <= policies


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_serving_profiles_are_the_packs(env: str) -> None:
    config = pack_config(env)
    profile = SERVING_PROFILES[env]
    assert profile.min_replicas == config["minimum-replicas"]["minReplicas"]
    assert profile.approval_required == config["served-model-approved"]["required"]


def run_program_of(path: Path, env: str, references: dict) -> RecordedStack:
    return run_program(lambda: deploy_manifest_file(path), project="churn-serving", stack=env,
                       stack_references=references)


def test_a_prod_model_with_its_drift_check_passes_the_pack(tmp_path: Path) -> None:
    """The drift CronJob a project's model gets is held to prod's pack like its server."""
    path = written_by_make_deploy("prod", tmp_path)
    manifest = load_deployment(path)
    drift = {"reference": "s3://mlflow/monitoring/churn-model/reference.parquet",
             "current": "s3://mlflow/monitoring/churn-model/served/"}
    watched = manifest.model_validate({**manifest.model_dump(), "models": [
        {**model.model_dump(exclude_none=True), "drift": drift} for model in manifest.models]})
    write_manifest(path, watched)
    platform = run_stack("prod", pinned_images("prod")).outputs
    recorded = run_program_of(path, "prod", {manifest.platform_stack: platform})
    assert recorded.of_type("kubernetes:batch/v1:CronJob")

    violations = evaluate([from_wire(r.type_, r.name, r.urn, r.inputs)
                           for r in recorded.resources], "prod")

    assert not [v.message for v in violations if v.mandatory]
