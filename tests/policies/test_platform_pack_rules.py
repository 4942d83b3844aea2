"""Each rule of the platform pack, called directly: a passing and a violating case."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pytest

from policies.platform_pack.platform_rules.catalog import (
    CONFIG_DIR,
    RULES,
    markdown_table,
    pack_config,
    render_config,
)
from policies.platform_pack.platform_rules.environments import environment_of
from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import NOT_APPLICABLE, Resource, run_rule


@dataclass(frozen=True)
class Case:
    rule: str
    environment: str
    passing: list[Resource]
    violating: list[Resource]
    says: str  # a fragment every violation message must contain
    names: str  # the offending object as the message must name it

    def __str__(self) -> str:
        return f"{self.rule}-{self.environment}-{self.says[:20]}"


SERVING = "Deployment 'serving/model'"
CASES = [
    Case("containers-run-as-non-root", "dev", [obj.deployment()],
         [obj.with_container(obj.deployment(), securityContext=obj.security(runAsNonRoot=False))],
         "may run as root", SERVING),
    Case("containers-run-as-non-root", "dev", [obj.deployment()],
         [obj.with_container(obj.deployment(), securityContext=obj.security(runAsUser=0))],
         "runAsUser 0", SERVING),
    Case("no-privilege-escalation", "prod", [obj.deployment()],
         [obj.with_container(obj.deployment(),
                             securityContext=obj.security(allowPrivilegeEscalation=True))],
         "allows privilege escalation", SERVING),
    Case("no-privileged-containers", "prod", [obj.deployment()],
         [obj.with_container(obj.deployment(), securityContext=obj.security(privileged=True))],
         "is privileged", SERVING),
    Case("capabilities-dropped", "prod", [obj.deployment()],
         [obj.with_container(obj.deployment(), securityContext=obj.security(capabilities={}))],
         "drop: [ALL]", SERVING),
    Case("capabilities-dropped", "prod", [obj.deployment()],
         [obj.with_container(obj.deployment(), securityContext=obj.security(
             capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}))],
         "adds the capabilities NET_ADMIN", SERVING),
    Case("read-only-root-filesystem", "prod", [obj.deployment()],
         [obj.with_container(obj.deployment(),
                             securityContext=obj.security(readOnlyRootFilesystem=False))],
         "readOnlyRootFilesystem: true", SERVING),
    Case("resource-requests-and-limits", "dev", [obj.deployment()],
         [obj.with_container(obj.deployment(), resources={"requests": {"cpu": "1"}})],
         "resources.requests.memory, resources.limits.cpu, resources.limits.memory", SERVING),
    Case("images-pinned", "dev", [obj.with_container(obj.deployment(), image=obj.IMAGE)],
         [obj.with_container(obj.deployment(), image="seldonio/mlserver:latest")],
         "tagged latest", SERVING),
    Case("images-pinned", "dev", [obj.with_container(obj.deployment(), image="repo:5000/a:1.0")],
         [obj.with_container(obj.deployment(), image="registry.example:5000/mlserver")],
         "without a tag", SERVING),
    Case("images-pinned", "prod", [obj.deployment()],
         [obj.with_container(obj.deployment(), image=obj.IMAGE)],
         "not pinned by digest", SERVING),
    Case("no-secrets-in-env", "dev",
         [obj.with_container(obj.deployment(), env=[{"name": "DB_PASSWORD", "valueFrom": {
             "secretKeyRef": {"name": "db", "key": "password"}}}])],
         [obj.with_container(obj.deployment(),
                             env=[{"name": "DB_PASSWORD", "value": "hunter2"}])],
         "sets the secret 'DB_PASSWORD' as a plain env value", SERVING),
    Case("no-secrets-in-env", "dev",
         [obj.with_container(obj.deployment(), env=[{"name": "DB", "value": "postgresql://h/db"}])],
         [obj.with_container(obj.deployment(),
                             env=[{"name": "DB", "value": "postgresql://u:pw@h/db"}])],
         "valueFrom.secretKeyRef", SERVING),
    Case("no-secrets-in-config-maps", "dev", [obj.config_map({"log_level": "info"})],
         [obj.config_map({"api_token": "abc123"})], "under the key 'api_token'",
         "ConfigMap 'serving/settings'"),
    Case("load-balancer-only-for-ingress", "dev",
         [obj.service("LoadBalancer", "ingress-nginx"), obj.service("ClusterIP", "serving")],
         [obj.service("LoadBalancer", "serving")], "is of type LoadBalancer",
         "Service 'serving/edge'"),
    Case("ingress-tls", "prod", [obj.ingress(tls_hosts=["mlflow.example.com"])],
         [obj.ingress(tls_hosts=None)], "serves plain HTTP", "Ingress 'platform/mlflow'"),
    Case("ingress-tls", "staging", [obj.ingress(tls_hosts=["mlflow.example.com"])],
         [obj.ingress(tls_hosts=["other.example.com"])], "mlflow.example.com without TLS",
         "Ingress 'platform/mlflow'"),
    Case("mlflow-auth-enabled", "dev", [obj.tracking_server(), obj.deployment()],
         [obj.tracking_server(app_name=None)], "without authentication",
         "Deployment 'platform/mlflow'"),
    # The platform's metrics launcher runs the server after its `--`: still read as the server.
    Case("mlflow-auth-enabled", "dev", [obj.tracking_server()],
         [obj.with_container(obj.tracking_server(), command=[
             "python", "-m", "mlops_platform.monitoring.tracking_server", "--metrics-port",
             "9103", "--", "mlflow", "server", "--port", "5000"])],
         "without authentication", "Deployment 'platform/mlflow'"),
    Case("default-deny-network-policy", "dev",
         [obj.namespace(), obj.network_policy("default-deny")],
         [obj.namespace(), obj.network_policy("allow-some", deny_all=False),
          obj.network_policy("default-deny", "elsewhere")],
         "has no default-deny NetworkPolicy", "Namespace 'serving'"),
    Case("pod-security-labels", "dev", [obj.namespace()], [obj.namespace(level="baseline")],
         "enforces 'baseline'", "Namespace 'serving'"),
    Case("pod-security-labels", "dev", [obj.namespace()], [obj.namespace(level=None)],
         "enforces no level", "Namespace 'serving'"),
    Case("seccomp-profile-restricted", "dev", [obj.deployment(), obj.bare_pod()],
         [obj.with_container(obj.deployment(), securityContext=obj.security(
             seccompProfile={"type": "Unconfined"}))],
         "the seccomp profile 'Unconfined'", SERVING),
    Case("volume-types-restricted", "dev",
         [obj.with_pod(obj.deployment(), volumes=[{"name": "tmp", "emptyDir": {}}])],
         [obj.with_pod(obj.deployment(), volumes=[{"name": "nfs", "nfs": {
             "server": "10.0.0.2", "path": "/"}}])], "mounts a nfs volume ('nfs')", SERVING),
    Case("proc-mount-default", "dev",
         [obj.with_container(obj.deployment(), securityContext=obj.security(
             procMount="Default"))],
         [obj.with_container(obj.deployment(), securityContext=obj.security(
             procMount="Unmasked"))], "mounts /proc as 'Unmasked'", SERVING),
    Case("sysctls-safe", "dev",
         [obj.with_pod(obj.deployment(), securityContext={**obj.POD_SECURITY, "sysctls": [
             {"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"}]})],
         [obj.with_pod(obj.deployment(), securityContext={**obj.POD_SECURITY, "sysctls": [
             {"name": "kernel.msgmax", "value": "65536"}]})], "sets the sysctls kernel.msgmax",
         SERVING),
    Case("apparmor-not-loosened", "dev",
         [obj.with_container(obj.deployment(), securityContext=obj.security(
             appArmorProfile={"type": "RuntimeDefault"}))],
         [obj.with_container(obj.deployment(), securityContext=obj.security(
             appArmorProfile={"type": "Unconfined"}))], "AppArmor profile 'Unconfined'",
         SERVING),
    Case("selinux-not-loosened", "dev",
         [obj.with_container(obj.deployment(), securityContext=obj.security(
             seLinuxOptions={"level": "s0:c123,c456"}))],
         [obj.with_container(obj.deployment(), securityContext=obj.security(
             seLinuxOptions={"type": "spc_t"}))], "SELinux type 'spc_t'", SERVING),
    Case("pod-templates-readable", "dev", [obj.deployment(), obj.rollout()],
         [obj.custom_object("kubernetes:example.com/v1:Worker", {
             "workload": {"podSpec": {"containers": [obj.container()]}}})],
         "at spec.workload.podSpec", "Worker 'serving/model'"),
    Case("no-cluster-admin-bindings", "dev", [obj.binding("view")],
         [obj.binding("cluster-admin")], "grants cluster-admin", "ClusterRoleBinding 'ops'"),
    Case("no-secrets-in-annotations", "dev",
         [obj.annotated(obj.deployment(), {"example.com/owner": "team-ml"})],
         [obj.annotated(obj.deployment(), {"example.com/db-password": "hunter2"})],
         "in the annotation 'example.com/db-password'", SERVING),
    Case("no-secrets-in-probe-headers", "dev",
         [obj.probed_with_headers({"name": "Accept", "value": "application/json"})],
         [obj.probed_with_headers({"name": "Authorization", "value": "Bearer s3cr3t-t0ken"})],
         "in its readinessProbe (header Authorization)", SERVING),
    Case("minimum-replicas", "prod", [obj.tracking_server(), obj.deployment(replicas=1.0)],
         [obj.tracking_server(replicas=1.0)], "with 1 replica(s); prod needs at least 2",
         "Deployment 'platform/mlflow'"),
    Case("minimum-replicas", "prod", [obj.model_server()], [obj.model_server(replicas=1.0)],
         "is a model server with 1 replica(s)", SERVING),
    Case("pod-disruption-budget", "prod", [obj.model_server(), obj.pod_disruption_budget()],
         [obj.model_server(), obj.pod_disruption_budget({"app.kubernetes.io/name": "other"})],
         "without a PodDisruptionBudget", SERVING),
    Case("health-probes", "prod", [obj.deployment()],
         [obj.with_container(obj.deployment(), livenessProbe=None)], "has no livenessProbe",
         SERVING),
    Case("pvc-storage-class", "prod", [obj.claim("fast-ssd")], [obj.claim(None)],
         "no storageClassName", "PersistentVolumeClaim 'platform/data'"),
    Case("database-backups", "prod", [obj.postgres(), obj.backup_job()],
         [obj.postgres(), obj.backup_job(command="echo nothing")], "without a backup",
         "StatefulSet 'platform/postgres'"),
    Case("served-model-pinned", "dev", [obj.model_server("models:/model/3")],
         [obj.model_server("runs:/0123abcd/model")], "serves 'runs:/0123abcd/model'", SERVING),
    Case("served-model-pinned", "dev", [obj.model_server("models:/model@champion")],
         [obj.model_server("models:/model/latest")], "not a registry version or alias", SERVING),
    Case("served-model-approved", "prod", [obj.model_server(approved_by="alice")],
         [obj.model_server(approved_by=None)], "nobody approved for prod", SERVING),
    Case("served-model-scraped", "dev", [obj.scraped_model_server()],
         [obj.model_server()], "serves a model nobody scrapes", SERVING),
    Case("served-model-scraped", "prod", [obj.scraped_model_server()],
         [obj.scraped_model_server(port="9999"), obj.scraped_model_server(scrape="false")],
         "prometheus.io/port (a port its containers declare)", SERVING),
    Case("served-model-scraped", "prod",
         [obj.model_server_with_metrics_port(), obj.pod_monitor()],
         [obj.model_server_with_metrics_port(), obj.pod_monitor(port="grpc"),
          obj.pod_monitor(labels={"app.kubernetes.io/name": "other"})],
         "select them with a PodMonitor or ServiceMonitor", SERVING),
    Case("served-model-scraped", "staging",
         [obj.model_server_with_metrics_port(), obj.metrics_service(), obj.service_monitor()],
         [obj.model_server_with_metrics_port(), obj.metrics_service(target_port=9999.0),
          obj.service_monitor()],
         "nobody scrapes", SERVING),
    Case("served-model-alerted", "prod",
         [obj.model_server_with_metrics_port(), obj.pod_monitor(), obj.prometheus_rule(),
          obj.scraped_model_server()],
         [obj.model_server_with_metrics_port(), obj.pod_monitor(),
          obj.prometheus_rule(alert=False)],
         "is scraped through PodMonitor 'serving/mlserver' but no PrometheusRule", SERVING),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_passes_the_compliant_objects(case: Case) -> None:
    assert run_rule(case.rule, case.passing, case.environment) == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_reports_what_is_wrong_where_and_the_fix(case: Case) -> None:
    messages = run_rule(case.rule, case.violating, case.environment)
    assert isinstance(messages, list) and messages, f"{case.rule} let the flaw through"
    for message in messages:
        assert case.says in message
        assert case.names in message
        # Whole sentences: what is wrong, then the fix.
        assert re.search(r"\. [A-Z][a-z]+ ", message), message


def test_every_rule_has_a_violating_case() -> None:
    assert {rule.name for rule in RULES} == {case.rule for case in CASES}


@pytest.mark.parametrize(("rule", "violating"), [
    ("ingress-tls", obj.ingress(tls_hosts=None)),
    ("served-model-approved", obj.model_server(approved_by=None)),
    ("pod-disruption-budget", obj.model_server()),
    ("health-probes", obj.with_container(obj.deployment(), livenessProbe=None)),
    ("pvc-storage-class", obj.claim(None)),
    ("database-backups", obj.postgres()),
])
def test_environment_rules_are_not_applicable_in_dev(rule: str, violating: Resource) -> None:
    assert run_rule(rule, violating, "dev") == NOT_APPLICABLE
    assert run_rule(rule, violating, "prod") not in ([], NOT_APPLICABLE)


def test_thresholds_come_from_the_configuration_over_the_environment() -> None:
    two = obj.tracking_server(replicas=2.0)
    assert run_rule("minimum-replicas", two, "prod") == []
    assert run_rule("minimum-replicas", two, "dev",
                    {"environment": "dev", "minReplicas": 3}) != []
    privileged = obj.with_container(obj.deployment(), securityContext=obj.security(
        capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}))
    assert run_rule("capabilities-dropped", privileged, "prod",
                    {"environment": "prod", "allowedCapabilities": ["NET_BIND_SERVICE"]}) == []


def test_without_an_environment_the_strictest_profile_applies(monkeypatch) -> None:
    # Outside an engine run the SDK answers a placeholder stack name, not an environment;
    # pin it, since earlier tests in the session may have run programs of a named stack.
    monkeypatch.setattr(pulumi.runtime.settings, "SETTINGS", pulumi.runtime.settings.Settings(
        project="pack-test", stack="stack"))
    assert environment_of({}) == "prod"
    assert environment_of({"environment": "dev"}) == "dev"
    unpinned = obj.with_container(obj.deployment(), image=obj.IMAGE)
    assert run_rule("images-pinned", unpinned, "prod", {}) != []


def test_rules_are_named_and_described_like_the_pack_guide_asks() -> None:
    assert len(RULES) >= 15
    assert len({rule.name for rule in RULES}) == len(RULES)
    for rule in RULES:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.name), rule.name
        assert re.fullmatch(r"[A-Z][^.]*\.", rule.description), rule.description


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_committed_config_files_are_rendered_from_the_rules(environment: str) -> None:
    path = CONFIG_DIR / f"{environment}.json"
    assert path.read_text() == render_config(environment), (
        f"{path} is stale: run `python -m policies.platform_pack.platform_rules.catalog`")


def test_the_docs_list_every_rule_as_the_catalog_renders_it(repo_root: Path) -> None:
    page = (repo_root / "docs" / "reference" / "policies.md").read_text()
    assert markdown_table() in page, (
        "docs/reference/policies.md is stale: run `.venv/bin/python docs/scripts/generate.py`")


def test_dev_is_advisory_and_prod_mandatory() -> None:
    levels = {env: json.loads((CONFIG_DIR / f"{env}.json").read_text())["all"]
              for env in ("dev", "staging", "prod")}
    assert levels == {"dev": "advisory", "staging": "mandatory", "prod": "mandatory"}


def test_unknown_environment_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown environment 'qa'; choose one of dev, prod"):
        pack_config("qa")


MALFORMED_PROPS = [
    {},
    {"metadata": None, "spec": None},
    {"spec": {"template": "not a mapping", "jobTemplate": []}},
    {"spec": {"template": {"spec": {"containers": "not a list"}}}},
    {"spec": {"template": {"spec": {"containers": [None, "x", {}],
                                    "initContainers": [{"securityContext": []}]}}}},
    {"spec": {"template": {"spec": {"containers": [{
        "env": "x", "command": "mlflow server", "resources": [], "image": 7,
        "securityContext": {"capabilities": "ALL"}}]}}}},
    {"metadata": {"labels": "x", "annotations": []}, "data": ["x"],
     "spec": {"type": "LoadBalancer", "tls": "x", "rules": [None], "volumeClaimTemplates": [1],
              "predictor": {"model": {"storageUri": 3}}}},
]
TYPES = sorted({*obj.k8s.POD_SPEC_PATHS, obj.k8s.SERVICE, obj.k8s.CONFIG_MAP,
                obj.k8s.NAMESPACE, obj.k8s.PVC, obj.k8s.INGRESS, obj.k8s.NETWORK_POLICY,
                obj.k8s.PDB, obj.k8s.INFERENCE_SERVICE})


@pytest.mark.parametrize("rule", [rule.name for rule in RULES])
def test_rules_check_keys_and_shapes_before_reading(rule: str) -> None:
    resources = [Resource(type_, "odd", f"urn:odd:{type_}:{index}", props)
                 for type_ in TYPES for index, props in enumerate(MALFORMED_PROPS)]
    for environment in ("dev", "prod"):
        outcome = run_rule(rule, resources, environment)
        assert outcome == NOT_APPLICABLE or isinstance(outcome, list)
