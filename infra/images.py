"""Container image references: pinned by version (and by digest where required).

Images are named the Docker Hub way, without a registry host; the `image_registry`
stack setting puts a mirror's prefix in front of every one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REFERENCE = re.compile(
    r"^(?P<repository>[a-z0-9]+([._/-][a-z0-9]+)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(@(?P<digest>sha256:[a-f0-9]{64}))?$")


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str
    digest: str | None

    def qualified(self, registry: str) -> str:
        """The reference the kubelet pulls: the mirror's prefix, the repository, tag, digest."""
        name = f"{registry.rstrip('/')}/{self.repository}" if registry else self.repository
        return f"{name}:{self.tag}" + (f"@{self.digest}" if self.digest else "")


def parse_image(value: str) -> ImageRef:
    """Parse `repository:tag[@sha256:…]`; raise ValueError naming what is wrong and the fix."""
    first = value.split("/", 1)[0]
    if "/" in value and ("." in first or ":" in first or first == "localhost"):
        raise ValueError(f"names the registry host {first!r}; write the image without a host "
                         "and set image_registry to the registry or mirror prefix")
    match = _REFERENCE.match(value)
    if not match:
        raise ValueError("must look like repository:tag or repository:tag@sha256:<64 hex>")
    if not match["tag"]:
        raise ValueError("has no version tag; pin it, e.g. postgres:16.4-alpine")
    if match["tag"] == "latest":
        raise ValueError("uses the moving tag 'latest'; pin a version")
    return ImageRef(match["repository"], match["tag"], match["digest"])


def validate_registry(value: str) -> str:
    if "://" in value or value.endswith("/") or " " in value:
        raise ValueError("must be a registry prefix such as registry.example.com/mirror "
                         "(no scheme, no trailing slash), or empty for Docker Hub")
    return value
