"""The committed stacks, as the mocked engine records them, against the pack; then mutated.

Each stack's objects must pass every mandatory policy of its environment; each
mutation (one flaw put into otherwise compliant objects) must be caught by the
policy meant for it, and by no other.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache

import pytest

from mlops_platform.local_cluster.mocked_engine import record_stack, stack_settings
from policies.platform_pack.platform_rules import kubernetes as k8s
from policies.platform_pack.platform_rules.catalog import pack_config
from policies.platform_pack.platform_rules.conventions import APPROVED_BY_ANNOTATION
from tests.infra.stacks import with_a_model
from tests.policies.platform_pack_harness import Resource, evaluate, from_wire


@cache
def recorded(stack: str) -> tuple[Resource, ...]:
    """The committed stack with its image digests filled in and one model a project serves."""
    return tuple(from_wire(r.type_, r.name, r.urn, r.inputs)
                 for r in record_stack(stack, with_a_model(stack)))


def _model_servers(resources: tuple[Resource, ...] | list[Resource]) -> list[Resource]:
    return [r for r in resources if r.type_ == k8s.DEPLOYMENT
            and k8s.dig(r.props, "metadata", "labels", "app.kubernetes.io/name") == "mlserver"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_committed_stack_passes_the_policies_of_its_environment(stack: str) -> None:
    violations = evaluate(list(recorded(stack)), stack)
    # Not even advisory findings: dev's advisory level must not hide a real flaw.
    assert not violations, "\n".join(v.message for v in violations)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_enforcement_setting_matches_the_pack_config_of_its_environment(
        stack: str) -> None:
    settings = stack_settings(stack)
    assert settings["policy_enforcement"] == pack_config(settings["environment"])["all"]


# --- mutations: one flaw each, on prod's objects --------------------------------

Mutation = Callable[[list[Resource]], str]  # returns the name of the resource it broke


def workload(resources: list[Resource], metadata_name: str) -> Resource:
    for item in resources:
        if (item.type_ in k8s.POD_SPEC_PATHS
                and k8s.dig(item.props, "metadata", "name") == metadata_name):
            return item
    raise LookupError(f"no workload named {metadata_name}")


def first_container(item: Resource) -> dict:
    spec = k8s.pod_spec(item.type_, item.props)
    assert spec is not None
    return spec["containers"][0]


def set_security(metadata_name: str, **settings: object) -> Mutation:
    def mutate(resources: list[Resource]) -> str:
        item = workload(resources, metadata_name)
        first_container(item)["securityContext"].update(settings)
        return item.name
    return mutate


def set_container(metadata_name: str, **fields: object) -> Mutation:
    def mutate(resources: list[Resource]) -> str:
        item = workload(resources, metadata_name)
        container = first_container(item)
        for key, value in fields.items():
            if value is None:
                container.pop(key, None)
            else:
                container[key] = value
        return item.name
    return mutate


def drop_resources(type_: str, metadata_name: str | None = None) -> Mutation:
    def mutate(resources: list[Resource]) -> str:
        doomed = [r for r in resources if r.type_ == type_ and metadata_name in
                  (None, k8s.dig(r.props, "metadata", "name"))]
        assert doomed
        for item in doomed:
            resources.remove(item)
        return "" if type_ in (k8s.NETWORK_POLICY, k8s.PDB, k8s.CRON_JOB) else doomed[0].name
    return mutate


def add_resource(type_: str, props: dict) -> Mutation:
    def mutate(resources: list[Resource]) -> str:
        resources.append(Resource(type_, "added", f"urn:pulumi:prod::m::{type_}::added", props))
        return "added"
    return mutate


def ingress_without_tls(resources: list[Resource]) -> str:
    item = next(r for r in resources if r.type_ == k8s.INGRESS)
    item.props["spec"].pop("tls")
    return item.name


def unapproved_model(resources: list[Resource]) -> str:
    item = _model_servers(resources)[0]
    item.props["metadata"]["annotations"].pop(APPROVED_BY_ANNOTATION)
    return item.name


def model_uri(uri: str) -> Mutation:
    def mutate(resources: list[Resource]) -> str:
        item = _model_servers(resources)[0]
        for variable in first_container(item)["env"]:
            if variable["name"] == "MLSERVER_MODEL_URI":
                variable["value"] = uri
        return item.name
    return mutate


def tracking_without_auth(resources: list[Resource]) -> str:
    item = workload(resources, "mlflow")
    command = first_container(item)["command"]
    index = command.index("--app-name")
    del command[index:index + 2]
    return item.name


def replicas(metadata_name: str, count: float) -> Mutation:
    def mutate(resources: list[Resource]) -> str:
        item = workload(resources, metadata_name)
        item.props["spec"]["replicas"] = count
        return item.name
    return mutate


def namespace_label(resources: list[Resource]) -> str:
    item = next(r for r in resources if r.type_ == k8s.NAMESPACE)
    item.props["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
    return item.name


def unscraped_model(resources: list[Resource]) -> str:
    item = _model_servers(resources)[0]
    item.props["spec"]["template"]["metadata"].pop("annotations")
    return ""  # a stack rule: it names the model server, reported on the stack


def claim_without_class(resources: list[Resource]) -> str:
    item = workload(resources, "postgres")
    item.props["spec"]["volumeClaimTemplates"][0]["spec"].pop("storageClassName")
    return item.name


def annotate(metadata_name: str, **annotations: str) -> Mutation:
    def mutate(resources: list[Resource]) -> str:
        item = workload(resources, metadata_name)
        item.props["metadata"].setdefault("annotations", {}).update(annotations)
        return item.name
    return mutate


ADMIN_BINDING = {"metadata": {"name": "ops"}, "subjects": [
    {"kind": "ServiceAccount", "name": "mlflow", "namespace": "mlops-prod"}],
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                "name": "cluster-admin"}}
HIDDEN_POD = {"metadata": {"name": "worker", "namespace": "mlops-prod"},
              "spec": {"workload": {"containers": [{"name": "w", "image": "busybox"}]}}}
AUTHORIZED_PROBE = {"httpGet": {"path": "/v2/health/ready", "port": "http", "httpHeaders": [
    {"name": "Authorization", "value": "Bearer f00dcafe"}]}}

MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "seccomp switched off by a container": (set_security("mlflow", seccompProfile={
        "type": "Unconfined"}), "seccomp-profile-restricted"),
    "cluster-admin bound": (add_resource(
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", ADMIN_BINDING),
        "no-cluster-admin-bindings"),
    "password in an annotation": (annotate("mlflow", **{"example.com/db-password": "hunter2"}),
                                  "no-secrets-in-annotations"),
    "credentials in a probe header": (set_container("demo-classifier",
                                                    readinessProbe=AUTHORIZED_PROBE),
                                      "no-secrets-in-probe-headers"),
    "a pod where the pack does not read": (add_resource("kubernetes:example.com/v1:Worker",
                                                        HIDDEN_POD), "pod-templates-readable"),
    "privileged container": (set_security("mlflow", privileged=True),
                             "no-privileged-containers"),
    "root user": (set_security("postgres", runAsNonRoot=False), "containers-run-as-non-root"),
    "privilege escalation": (set_security("postgres", allowPrivilegeEscalation=True),
                             "no-privilege-escalation"),
    "added capability": (set_security("mlflow", capabilities={"drop": ["ALL"],
                                                              "add": ["SYS_ADMIN"]}),
                         "capabilities-dropped"),
    "writable root filesystem": (set_security("mlflow", readOnlyRootFilesystem=False),
                                 "read-only-root-filesystem"),
    "missing limits": (set_container("postgres", resources={"requests": {
        "cpu": "1", "memory": "2Gi"}}), "resource-requests-and-limits"),
    "latest tag": (set_container("demo-classifier", image="seldonio/mlserver:latest"),
                   "images-pinned"),
    "tag without digest": (set_container("mlflow", image="mlflow/mlflow:v3.17.2-full"),
                           "images-pinned"),
    "secret in plain env": (set_container("mlflow", env=[
        {"name": "AWS_SECRET_ACCESS_KEY", "value": "plain-text"}]), "no-secrets-in-env"),
    "secret in a ConfigMap": (add_resource(k8s.CONFIG_MAP, {
        "metadata": {"name": "leak", "namespace": "mlops-prod"},
        "data": {"database_url": "postgresql://mlflow:pw@postgres:5432/mlflow"}}),
        "no-secrets-in-config-maps"),
    "LoadBalancer service": (add_resource(k8s.SERVICE, {
        "metadata": {"name": "mlflow-public", "namespace": "mlops-prod"},
        "spec": {"type": "LoadBalancer"}}), "load-balancer-only-for-ingress"),
    "Ingress without TLS": (ingress_without_tls, "ingress-tls"),
    "tracking server without auth": (tracking_without_auth, "mlflow-auth-enabled"),
    "no default-deny": (drop_resources(k8s.NETWORK_POLICY, "default-deny"),
                        "default-deny-network-policy"),
    "privileged Pod Security level": (namespace_label, "pod-security-labels"),
    "single tracking replica": (replicas("mlflow", 1.0), "minimum-replicas"),
    "single serving replica": (replicas("demo-classifier", 1.0), "minimum-replicas"),
    "no disruption budgets": (drop_resources(k8s.PDB), "pod-disruption-budget"),
    "no probes": (set_container("demo-classifier", readinessProbe=None, livenessProbe=None),
                  "health-probes"),
    "claim without storage class": (claim_without_class, "pvc-storage-class"),
    "no database backup": (drop_resources(k8s.CRON_JOB, "postgres-backup"), "database-backups"),
    "unpinned model URI": (model_uri("runs:/4f1d/model"), "served-model-pinned"),
    "unapproved model": (unapproved_model, "served-model-approved"),
    "unscraped model": (unscraped_model, "served-model-scraped"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_each_mutation_is_caught_by_the_policy_meant_for_it(mutation: str) -> None:
    mutate, policy = MUTATIONS[mutation]
    resources = [copy.deepcopy(r) for r in recorded("prod")]
    broken = mutate(resources)
    violations = evaluate(resources, "prod")
    assert {v.policy for v in violations} == {policy}
    assert all(v.mandatory for v in violations)
    if broken:  # resource rules name the object they caught
        assert broken in {v.urn.rsplit("::", 1)[-1] for v in violations}


@pytest.mark.parametrize(("stack", "mandatory"), [("dev", False), ("staging", True)])
def test_the_same_flaw_is_advisory_in_dev_and_mandatory_in_staging(stack: str,
                                                                   mandatory: bool) -> None:
    resources = [copy.deepcopy(r) for r in recorded(stack)]
    broken = set_security("mlflow", privileged=True)(resources)
    violations = evaluate(resources, stack)
    assert [(v.policy, v.urn.rsplit("::", 1)[-1], v.mandatory) for v in violations] == [
        ("no-privileged-containers", broken, mandatory)]


def test_in_operator_mode_the_monitors_scrape_and_the_prometheus_rule_alerts() -> None:
    """The stack's PrometheusRule is what keeps its scraped models from being unalerted."""
    resources = [from_wire(r.type_, r.name, r.urn, r.inputs) for r in record_stack(
        "prod", {**with_a_model("prod"), "scrape_mode": "operator"})]
    assert evaluate(resources, "prod") == []
    without_rule = [resource for resource in resources
                    if not resource.type_.endswith(":PrometheusRule")]
    assert len(without_rule) == len(resources) - 1
    violations = evaluate(without_rule, "prod")
    assert [(v.policy, v.urn.rsplit("::", 1)[-1]) for v in violations] == [
        ("served-model-alerted", "model-serving-demo-classifier")]
