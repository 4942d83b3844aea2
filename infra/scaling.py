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
