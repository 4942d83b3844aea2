"""The mocked engine: repeatable in one process, wire inputs as the provider sees them."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from mlops_platform.local_cluster.mocked_engine import (
    SECRET_SIGNATURE,
    record_stack,
    run_program,
    run_stack,
    unwrap_secrets,
)
from tests.infra.stacks import pinned_images


def test_repeated_runs_in_one_process_are_independent() -> None:
    first = record_stack("dev")
    other = record_stack("prod", {**pinned_images("prod"), "tracking_replicas": 4})
    again = record_stack("dev")
    assert [(r.type_, r.name, r.inputs) for r in first] == \
        [(r.type_, r.name, r.inputs) for r in again]
    assert len(other) != len(first)
    assert all(r.urn.startswith("urn:pulumi:prod::mlops-platform::") for r in other)


def test_resources_carry_type_name_urn_and_camel_case_wire_inputs() -> None:
    deployment = next(r for r in record_stack("dev")
                      if r.type_ == "kubernetes:apps/v1:Deployment"
                      and r.name == "tracking-server-deployment")
    assert deployment.urn.endswith("::tracking-server-deployment")
    assert deployment.inputs["apiVersion"] == "apps/v1"
    assert "automountServiceAccountToken" in deployment.inputs["spec"]["template"]["spec"]


def test_secret_inputs_stay_wrapped_until_unwrapped() -> None:
    secret = next(r for r in record_stack("dev") if r.name == "metadata-database-credentials")
    assert SECRET_SIGNATURE in secret.inputs["stringData"]
    assert unwrap_secrets(secret.inputs)["stringData"]["POSTGRES_USER"] == "mlflow"


def test_a_program_reading_an_unknown_stack_reference_is_told_which_ones_exist() -> None:
    def program() -> dict:
        reference = pulumi.StackReference("acme/mlops-platform/prod")
        k8s.core.v1.ConfigMap("cm", metadata={"name": "cm"},
                              data={"ns": reference.get_output("namespace")})
        return {}

    with pytest.raises(Exception, match="acme/mlops-platform/prod"):
        run_program(program, stack_references={"acme/mlops-platform/dev": {}})


def test_an_unknown_stack_file_is_named() -> None:
    with pytest.raises(FileNotFoundError, match=r"Pulumi\.qa\.yaml"):
        run_stack("qa")
