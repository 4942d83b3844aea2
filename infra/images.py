"""Container image references: pinned by version (and by digest where required).

A reference may name its own registry host (`registry.example.com/acme/mlflow-server:0.1.0`);
one without a host gets the `image_registry` stack setting in front, or is pulled
from Docker Hub when that setting is empty. So each image can come from its own
registry while a mirror still serves the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REFERENCE = re.compile(
    r"^(?P<repository>[a-z0-9]+([._/-][a-z0-9]+)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(@(?P<digest>sha256:[a-f0-9]{64}))?$")
_HOST = re.compile(r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|[A-Za-z0-9.-]+:[0-9]+)$")
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str
    digest: str | None
    registry: str | None = None

    def qualified(self, default_registry: str) -> str:
        """The reference the kubelet pulls: its own registry, else the default prefix."""
        prefix = self.registry or default_registry.rstrip("/")
        name = f"{prefix}/{self.repository}" if prefix else self.repository
        return f"{name}:{self.tag}" + (f"@{self.digest}" if self.digest else "")


def split_registry(value: str) -> tuple[str | None, str]:
    """(`host[:port]`, rest) when the first path part is a registry host, as Docker decides."""
    first, _, rest = value.partition("/")
    if rest and _HOST.match(first):
        return first, rest
    return None, value


def parse_image(value: str) -> ImageRef:
    """Parse `[host/]repository:tag[@sha256:…]`; raise ValueError naming the problem and fix."""
    registry, remainder = split_registry(value)
    match = _REFERENCE.match(remainder)
    if not match:
        raise ValueError("must look like [registry/]repository:tag or "
                         "[registry/]repository:tag@sha256:<64 hex>")
    if not match["tag"]:
        raise ValueError("has no version tag; pin it, e.g. postgres:16.4-alpine")
    if match["tag"] == "latest":
        raise ValueError("uses the moving tag 'latest'; pin a version")
    if match["digest"] == PLACEHOLDER_DIGEST:
        raise ValueError("carries the placeholder digest sha256:000…0, which no registry "
                         "serves; put the real one (`crane digest <image>:<tag>`) or drop "
                         "the @sha256: part")
    return ImageRef(match["repository"], match["tag"], match["digest"], registry)


def validate_registry(value: str) -> str:
    if "://" in value or value.endswith("/") or " " in value:
        raise ValueError("must be a registry prefix such as registry.example.com/mirror "
                         "(no scheme, no trailing slash), or empty for Docker Hub")
    return value
