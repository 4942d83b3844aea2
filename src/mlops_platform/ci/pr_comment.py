"""Post a markdown file as a comment on the pull request (GitHub) or merge request (GitLab).

``python -m mlops_platform.ci.pr_comment reports/sample/metrics_diff.md`` finds the request from the
CI's own
variables: GitHub Actions (``GITHUB_TOKEN``, ``GITHUB_REPOSITORY``, ``GITHUB_EVENT_PATH``,
``GITHUB_API_URL``) or GitLab CI (``MLOPS_GITLAB_TOKEN``, a project access token with the
api scope, and ``CI_API_V4_URL``, ``CI_PROJECT_ID``, ``CI_MERGE_REQUEST_IID``). Outside a
pull request (a laptop, a push build) it prints the markdown instead, so the command runs
anywhere. Exit codes: 0 posted or printed, 2 the file or the API refused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class CommentTarget:
    url: str
    headers: dict[str, str]
    field: str  # the JSON field that carries the markdown


def github_target(env: Mapping[str, str]) -> CommentTarget | None:
    needed = ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_API_URL")
    if not all(env.get(name) for name in needed):
        return None
    event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())
    number = (event.get("pull_request") or {}).get("number")
    if number is None:
        return None
    return CommentTarget(
        f"{env['GITHUB_API_URL']}/repos/{env['GITHUB_REPOSITORY']}/issues/{number}/comments",
        {"Authorization": f"Bearer {env['GITHUB_TOKEN']}", "Accept": "application/vnd.github+json"},
        "body")


def gitlab_target(env: Mapping[str, str]) -> CommentTarget | None:
    needed = ("MLOPS_GITLAB_TOKEN", "CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID")
    if not all(env.get(name) for name in needed):
        return None
    return CommentTarget(
        f"{env['CI_API_V4_URL']}/projects/{env['CI_PROJECT_ID']}/merge_requests/"
        f"{env['CI_MERGE_REQUEST_IID']}/notes",
        {"PRIVATE-TOKEN": env["MLOPS_GITLAB_TOKEN"]}, "body")


def comment_target(env: Mapping[str, str]) -> CommentTarget | None:
    return github_target(env) or gitlab_target(env)


def post(target: CommentTarget, markdown: str) -> None:
    response = httpx.post(target.url, headers=target.headers, json={target.field: markdown},
                          timeout=30)
    response.raise_for_status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.ci.pr_comment",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("markdown", type=Path, help="the markdown file to post")
    args = parser.parse_args(argv)
    if not args.markdown.is_file():
        print(f"error: {args.markdown} does not exist: run the command that writes it first "
              "(e.g. `make metrics-diff`)", file=sys.stderr)
        return 2
    markdown = args.markdown.read_text()
    target = comment_target(os.environ)
    if target is None:
        print(f"(not in a pull request: {args.markdown} printed, not posted)\n{markdown}")
        return 0
    try:
        post(target, markdown)
    except httpx.HTTPError as err:
        print(f"error: posting the comment failed ({err}): check the token's permissions "
              "(GitHub: pull-requests: write; GitLab: MLOPS_GITLAB_TOKEN with api scope)",
              file=sys.stderr)
        return 2
    print(f"posted {args.markdown} to {target.url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
