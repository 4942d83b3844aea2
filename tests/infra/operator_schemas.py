"""prometheus-operator's objects checked against its CRDs' schemas, as strictly as Kubernetes'.

kubernetes-validate knows only the built-in kinds. cloudcoil's models of the operator are
generated from the CRDs' OpenAPI schemas; they ignore fields they do not declare, so
each object is also echoed back from its model: anything the echo lacks or changed is a
field the CRD does not know or a value of the wrong type.
"""

from __future__ import annotations

from typing import Any

from cloudcoil.models.prometheus_operator import v1

MODELS = {"ServiceMonitor": v1.ServiceMonitor, "PodMonitor": v1.PodMonitor,
          "PrometheusRule": v1.PrometheusRule}
OPERATOR_KINDS = tuple(MODELS)


class SchemaError(ValueError):
    """An operator object that its CRD's schema would not accept as written."""


def validate(manifest: dict[str, Any]) -> None:
    """Raise SchemaError naming each field of ``manifest`` its CRD rejects or does not know."""
    kind = manifest["kind"]
    model = MODELS[kind].model_validate(manifest)
    echoed = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    problems = list(differences(manifest, echoed, kind))
    if problems:
        raise SchemaError(f"{kind} {manifest['metadata'].get('name')}: " + "; ".join(problems))


def differences(written: Any, echoed: Any, path: str) -> list[str]:
    if isinstance(written, dict) and isinstance(echoed, dict):
        found = [f"{path}.{key} is not in the schema" for key in written if key not in echoed]
        for key in written.keys() & echoed.keys():
            found += differences(written[key], echoed[key], f"{path}.{key}")
        return found
    if isinstance(written, list) and isinstance(echoed, list) and len(written) == len(echoed):
        return [problem for index, (item, back) in enumerate(zip(written, echoed, strict=True))
                for problem in differences(item, back, f"{path}[{index}]")]
    return [] if written == echoed else [f"{path} = {written!r} reads back as {echoed!r}"]
