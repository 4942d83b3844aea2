"""The platform outputs contract between ``infra/`` and a generated project.

The Pulumi program exports these keys as stack outputs and the embedded local
platform writes them to a JSON file; a generated project reads either one and
nothing else couples the two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

Environment = Literal["local", "dev", "staging", "prod"]


class PlatformOutputs(BaseModel):
    """Where a project finds the platform of one environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_uri: str
    registry_uri: str
    artifact_store_uri: str
    serving_endpoint: str = ""
    environment: Environment
    namespace: str

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n")


OUTPUT_KEYS: tuple[str, ...] = tuple(PlatformOutputs.model_fields)


class PlatformOutputsError(ValueError):
    """A platform outputs file that cannot be used, with the reason and the fix."""


def read_outputs(path: Path | str) -> PlatformOutputs:
    """Read outputs from the local platform's file or `pulumi stack output --json`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise PlatformOutputsError(
            f"platform outputs file {path} does not exist: start the local platform "
            "(`make platform-up`) or save `pulumi stack output --json` to it"
        ) from err
    except (OSError, json.JSONDecodeError) as err:
        raise PlatformOutputsError(
            f"platform outputs file {path} is not readable JSON: {err}"
        ) from err
    if not isinstance(data, dict):
        raise PlatformOutputsError(f"platform outputs file {path} must hold a JSON object")
    # `pulumi stack output --json` also lists exported secrets; keep the contract keys.
    known = {key: value for key, value in data.items() if key in OUTPUT_KEYS}
    try:
        return PlatformOutputs(**known)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise PlatformOutputsError(
            f"platform outputs file {path} does not match the contract ({problems}); "
            f"expected keys: {', '.join(OUTPUT_KEYS)}"
        ) from err
