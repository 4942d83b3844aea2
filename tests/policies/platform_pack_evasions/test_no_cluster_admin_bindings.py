"""Ways of handing someone the cluster: cluster-admin bound, or a role that equals it."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "no-cluster-admin-bindings"
EVERYTHING = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
EVASIONS = {
    "a ClusterRoleBinding to cluster-admin": obj.binding("cluster-admin"),
    "a RoleBinding to cluster-admin in one namespace": obj.binding("cluster-admin",
                                                                   cluster_wide=False),
    "a binding through an older API version": obj.retyped(
        obj.binding("cluster-admin"),
        "kubernetes:rbac.authorization.k8s.io/v1beta1:ClusterRoleBinding"),
    "a binding through a server-side-apply patch": obj.retyped(
        obj.binding("cluster-admin"),
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBindingPatch"),
    "a role of its own granting everything": obj.cluster_role(EVERYTHING),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    caught(RULE, EVASIONS[way])


def test_narrow_roles_and_their_bindings_pass() -> None:
    reader = obj.cluster_role({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]},
                              {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]})
    assert run_rule(RULE, [reader, obj.binding("view"), obj.binding("ops")], "prod") == []
