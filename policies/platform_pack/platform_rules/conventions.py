"""Names the platform's objects carry and the pack reads.

The serving component writes these (from `mlops_platform.contract`); the policies read
them. The pack is published on its own and imports nothing of ours, so it keeps this
copy; tests/test_layout.py keeps the two equal.
"""

from __future__ import annotations

# Annotation on a serving Deployment (or InferenceService): who approved the model it serves.
APPROVED_BY_ANNOTATION = "mlops.platform/approved-by"
# The environment variable through which MLServer's MLflow runtime gets its model.
MODEL_URI_ENV = "MLSERVER_MODEL_URI"
POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
# The pod annotations an annotation-driven Prometheus scrapes by.
SCRAPE_ANNOTATION = "prometheus.io/scrape"
SCRAPE_PORT_ANNOTATION = "prometheus.io/port"
