"""The project finds the platform, and says clearly when its tracking server is unreachable."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import pytest
from mlops_platform.api import OUTPUT_KEYS, read_outputs

from {{ cookiecutter.package_name }}.platform import TrackingServerUnreachableError, connect


def test_the_outputs_file_has_the_platform_contract() -> None:
    outputs = read_outputs(Path("platform_outputs.json"))
    assert set(dataclasses.asdict(outputs)) == set(OUTPUT_KEYS)


def outputs_without_a_server(tmp_path: Path, environment: str) -> tuple[str, Path]:
    """An outputs file whose tracking server does not answer; its URL and path."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket closes
    url = f"http://127.0.0.1:{port}"
    outputs = {**json.loads(Path("platform_outputs.json").read_text()),
               "tracking_uri": url, "registry_uri": url, "environment": environment}
    source = tmp_path / "outputs.json"
    source.write_text(json.dumps(outputs))
    return url, source


def test_a_stopped_local_platform_is_one_line_with_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, source = outputs_without_a_server(tmp_path, "local")
    monkeypatch.setenv("PLATFORM_OUTPUTS", str(source))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # connect() sets it
    with pytest.raises(TrackingServerUnreachableError) as raised:
        connect()
    assert str(raised.value) == (f"no local platform answers at {url}: start it with "
                                 "`make platform-up` in the platform repository")


def test_an_unreachable_server_is_named_with_its_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, source = outputs_without_a_server(tmp_path, "staging")
    monkeypatch.setenv("PLATFORM_OUTPUTS", str(source))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # connect() sets it
    with pytest.raises(TrackingServerUnreachableError, match="unreachable") as raised:
        connect()
    assert url in str(raised.value)
    assert str(source) in str(raised.value)
