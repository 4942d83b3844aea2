"""The restricted Pod Security Standard as data: what a pod may set, field by field.

Transcribed from the Kubernetes "Pod Security Standards" page (restricted profile,
which includes baseline), current as of Kubernetes v1.33. The rules in
`pod_security.py` and `security.py` compare against these lists, so a change of the
standard is a change here.
"""

from __future__ import annotations

# seccompProfile.type: at the pod, or on every container when the pod sets none.
SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})
# The legacy seccomp annotations, and the values of them that keep a profile on.
SECCOMP_ANNOTATIONS = ("seccomp.security.alpha.kubernetes.io/pod",
                       "container.seccomp.security.alpha.kubernetes.io/")
SECCOMP_ANNOTATION_VALUES = frozenset({"runtime/default", "docker/default"})
# capabilities.add: the only one a restricted pod may add back after dropping ALL.
ADDABLE_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
# Volume sources a restricted pod may use (everything else reaches the node or the network).
VOLUME_TYPES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                          "persistentVolumeClaim", "projected", "secret"})
# The only procMount that keeps /proc masked.
PROC_MOUNT = "Default"
# Namespaced sysctls known to be isolated from the node.
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"})
# appArmorProfile.type, and the values of the older per-container annotation.
APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
APPARMOR_ANNOTATION_VALUES = frozenset({"runtime/default"})
APPARMOR_ANNOTATION_PREFIX = "localhost/"
# seLinuxOptions.type may be one of these; user and role may not be set at all.
SELINUX_TYPES = frozenset({"container_t", "container_init_t", "container_kvm_t",
                           "container_engine_t"})
SELINUX_FORBIDDEN = ("user", "role")
