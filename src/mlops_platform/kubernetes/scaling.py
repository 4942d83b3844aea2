"""Scaling out: an HPA and a PodDisruptionBudget for every workload that runs more than one pod."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s


def autoscale(name: str, metadata: dict[str, Any], replicas: int, ceiling: int,
              labels: dict[str, str], opts: pulumi.ResourceOptions) -> None:
    """HPA on CPU from `replicas` to `ceiling`, and a PDB that keeps all but one pod up."""
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        name, metadata=metadata,
        spec={"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                 "name": metadata["name"]},
              "minReplicas": replicas, "maxReplicas": ceiling,
              "metrics": [{"type": "Resource", "resource": {
                  "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
        opts=opts)
    k8s.policy.v1.PodDisruptionBudget(
        name, metadata=metadata,
        spec={"maxUnavailable": 1, "selector": {"matchLabels": labels}}, opts=opts)


def spread_over_nodes(labels: dict[str, str]) -> list[dict[str, Any]]:
    """Prefer different nodes (and zones) for the replicas, so one node going away never
    takes all of them; `ScheduleAnyway` keeps small clusters schedulable."""
    return [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": labels}}
            for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")]
