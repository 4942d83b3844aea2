"""Render the Kubernetes objects of stacks as plain YAML, without a cluster.

`python -m mlops_platform.local_cluster.manifests dev staging prod` (what `make manifests`
runs) runs each stack's program under the mocked engine and writes one file per object to
`build/manifests/<stack>/<kind>-<name>.yaml`. Secret values are redacted. A stack
whose config the program refuses (prod, until its image digests are filled in) is
reported with the reason and the exit code is 1; the other stacks are still written.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mlops_platform.local_cluster.mocked_engine import (
    RecordedResource,
    platform_program,
    record_stack,
    unwrap_secrets,
)

OUTPUT_DIR = Path("build") / "manifests"  # under the repository's root, where make runs
_HEAD = ("apiVersion", "kind", "metadata")


def to_manifests(resources: list[RecordedResource], *, redact: bool = True
                 ) -> list[dict[str, Any]]:
    """The Kubernetes objects among ``resources``, as the API server would receive them."""
    manifests = []
    for resource in resources:
        if not resource.type_.startswith("kubernetes:"):
            continue
        inputs = _integral_numbers(unwrap_secrets(resource.inputs, redact=redact))
        head = {key: inputs[key] for key in _HEAD if key in inputs}
        manifests.append({**head, **{k: v for k, v in inputs.items() if k not in _HEAD}})
    return manifests


def _integral_numbers(value: Any) -> Any:
    """The wire protocol carries every number as a float; Kubernetes wants integers back."""
    if isinstance(value, dict):
        return {key: _integral_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def manifest_file_names(manifests: list[dict[str, Any]]) -> list[str]:
    """`<kind>-<name>.yaml`; the namespace joins in where two namespaces share a name."""
    def short(manifest: dict[str, Any]) -> str:
        return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}"

    counts = Counter(short(manifest) for manifest in manifests)
    names = []
    for manifest in manifests:
        name = short(manifest)
        if counts[name] > 1:
            name = (f"{manifest['kind'].lower()}-{manifest['metadata'].get('namespace', '')}-"
                    f"{manifest['metadata']['name']}")
        names.append(f"{name}.yaml")
    return names


def write_stack_manifests(stack: str, output_dir: Path = OUTPUT_DIR,
                          config_overrides: Mapping[str, Any] | None = None) -> list[Path]:
    manifests = to_manifests(record_stack(stack, config_overrides))
    target = output_dir / stack
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    paths = []
    for manifest, file_name in zip(manifests, manifest_file_names(manifests), strict=True):
        path = target / file_name
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        paths.append(path)
    return paths


def main(argv: list[str], output_dir: Path = OUTPUT_DIR) -> int:
    program = platform_program()
    stacks = argv or list(program.stacks)
    unknown = [stack for stack in stacks if not (program.root / f"Pulumi.{stack}.yaml").exists()]
    if unknown:
        print(f"no stack file for {', '.join(unknown)}; committed stacks: "
              f"{', '.join(program.stacks)}", file=sys.stderr)
        return 2
    refused = 0
    for stack in stacks:
        try:
            paths = write_stack_manifests(stack, output_dir)
        except program.config_error as err:
            print(f"{stack}: {err}", file=sys.stderr)
            shutil.rmtree(output_dir / stack, ignore_errors=True)  # no stale objects
            refused += 1
            continue
        print(f"{stack}: {len(paths)} objects in {paths[0].parent}")
    return 1 if refused else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
