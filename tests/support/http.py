"""Plain HTTP against the servers the tests start: the status and body, whatever they are."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit


def post(url: str, body: bytes | str, content_type: str = "application/json",
         timeout: float = 60) -> tuple[int, str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        payload = body.encode() if isinstance(body, str) else body
        connection.request("POST", parts.path, payload, {"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()
