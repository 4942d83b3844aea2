"""Why a server a Job waits for never answered: its name does not resolve, or nothing listens."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def unreachable_cause(url: str, resolve: Callable[..., Any] = socket.getaddrinfo) -> str:
    """The likely cause, to follow "… did not answer": which name was tried and what to check."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    if not _is_address(host):
        try:
            resolve(host, port)
        except (socket.gaierror, UnicodeError):
            return (f"the name {host} does not resolve; the usual cause is missing Service DNS "
                    "(is the Service there? under make pods, podman needs netavark and "
                    "aardvark-dns: see docs/troubleshooting.md)")
    return (f"{host}:{port} accepted no connection; the usual cause is a server that is not "
            "up or not listening there, and its own log says why (kubectl logs, or the log "
            "make pods prints)")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
