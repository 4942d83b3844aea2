"""A Job that waited in vain names the address it tried and the likely cause."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from mlops_platform.processes import free_port
from mlops_platform.tools import create_reader
from mlops_platform.tools.endpoint import unreachable_cause

SERVICE = "object-store.mlops-dev.svc.cluster.local"


def no_such_name(host: str, port: int) -> Any:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_a_name_that_does_not_resolve_points_at_service_dns() -> None:
    cause = unreachable_cause(f"http://{SERVICE}:8333", resolve=no_such_name)
    assert cause.startswith(f"the name {SERVICE} does not resolve; the usual cause is missing "
                            "Service DNS")
    assert "netavark and aardvark-dns" in cause
    assert "docs/troubleshooting.md" in cause


def test_a_name_that_resolves_points_at_the_servers_own_log() -> None:
    tried = []
    cause = unreachable_cause(f"http://{SERVICE}:8333",
                              resolve=lambda host, port: tried.append((host, port)))
    assert tried == [(SERVICE, 8333)]
    assert cause.startswith(f"{SERVICE}:8333 accepted no connection; the usual cause is a "
                            "server that is not up")
    assert "its own log says why" in cause


def test_an_address_is_not_looked_up_and_the_default_port_is_named() -> None:
    cause = unreachable_cause("http://10.0.0.7/", resolve=no_such_name)
    assert cause.startswith("10.0.0.7:80 accepted no connection")


def test_the_reader_job_names_the_tracking_server_it_waited_for(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in (*create_reader.ADMIN_ENV, *create_reader.READER_ENV):
        monkeypatch.setenv(name, "x")
    url = f"http://127.0.0.1:{free_port()}"
    assert create_reader.main(["--tracking-uri", url, "--wait-seconds", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: the tracking server at {url} did not answer within 0 s: "
                          f"127.0.0.1:{url.rsplit(':', 1)[1]} accepted no connection;")
    assert err.count("\n") == 1
