"""Posting markdown on a pull/merge request, through a local HTTP server standing in for the API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlops_platform.ci.pr_comment import main

CI_VARIABLES = ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_API_URL",
                "MLOPS_GITLAB_TOKEN", "CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID")


class Api:
    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[tuple[Api, str]]:
    recorder = Api(getattr(request, "param", 201))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            recorder.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": body})
            self.send_response(recorder.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "diff.md"
    path.write_text("| metric | value |\n")
    return path


def github_pull_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    for name, value in {"GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": "org/project",
                        "GITHUB_EVENT_PATH": str(event), "GITHUB_API_URL": url}.items():
        monkeypatch.setenv(name, value)


def test_outside_a_pull_request_it_prints(markdown: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(markdown)]) == 0
    assert "| metric | value |" in capsys.readouterr().out


def test_on_github_it_comments_on_the_pull_request(
        markdown: Path, api: tuple[Api, str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    recorder, url = api
    github_pull_request(monkeypatch, tmp_path, url)
    assert main([str(markdown)]) == 0
    [request] = recorder.requests
    assert request["path"] == "/repos/org/project/issues/7/comments"
    assert request["headers"]["Authorization"] == "Bearer t0ken"
    assert request["body"] == {"body": "| metric | value |\n"}


def test_on_gitlab_it_adds_a_note_to_the_merge_request(
        markdown: Path, api: tuple[Api, str], monkeypatch: pytest.MonkeyPatch) -> None:
    recorder, url = api
    for name, value in {"MLOPS_GITLAB_TOKEN": "glpat", "CI_API_V4_URL": f"{url}/api/v4",
                        "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "3"}.items():
        monkeypatch.setenv(name, value)
    assert main([str(markdown)]) == 0
    [request] = recorder.requests
    assert request["path"] == "/api/v4/projects/42/merge_requests/3/notes"
    assert request["headers"]["PRIVATE-TOKEN"] == "glpat"


@pytest.mark.parametrize("api", [403], indirect=True)
def test_a_refusal_names_the_permission(
        markdown: Path, api: tuple[Api, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    github_pull_request(monkeypatch, tmp_path, api[1])
    assert main([str(markdown)]) == 2
    assert "pull-requests: write" in capsys.readouterr().err


def test_a_missing_file_names_the_command_that_writes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "absent.md")]) == 2
    assert "make metrics-diff" in capsys.readouterr().err
