"""Image references: pinned, no registry host, the mirror prefix put in front."""

from __future__ import annotations

import re

import pytest

from infra.config import IMAGE_KEYS, STACKS
from infra.images import ImageRef, parse_image
from infra.mocked_engine import stack_settings

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(("value", "expected"), [
    ("postgres:16.4-alpine", ImageRef("postgres", "16.4-alpine", None)),
    ("seldonio/mlserver:1.6.1-mlflow", ImageRef("seldonio/mlserver", "1.6.1-mlflow", None)),
    (f"minio/mc:RELEASE.2024-10-08T09-37-26Z@{DIGEST}",
     ImageRef("minio/mc", "RELEASE.2024-10-08T09-37-26Z", DIGEST)),
])
def test_a_pinned_reference_parses(value: str, expected: ImageRef) -> None:
    assert parse_image(value) == expected


@pytest.mark.parametrize(("value", "problem"), [
    ("postgres", "no version tag"),
    ("postgres:latest", "'latest'"),
    ("registry.example.com/postgres:16", "registry host 'registry.example.com'"),
    ("localhost/postgres:16", "registry host"),
    ("Postgres:16", "repository:tag"),
    ("postgres:16@sha256:abc", "repository:tag"),
])
def test_an_unpinned_or_hosted_reference_is_refused(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_image(value)


def test_the_registry_prefix_goes_in_front() -> None:
    ref = parse_image(f"postgres:16.4-alpine@{DIGEST}")
    assert ref.qualified("") == f"postgres:16.4-alpine@{DIGEST}"
    assert ref.qualified("mirror.example.com/hub") == \
        f"mirror.example.com/hub/postgres:16.4-alpine@{DIGEST}"


def test_the_committed_stacks_name_no_registry_host() -> None:
    for stack in STACKS:
        settings = stack_settings(stack)
        for key in IMAGE_KEYS:
            if key in settings:
                assert parse_image(settings[key]).repository.count(".") == 0, (stack, key)
        assert settings.get("image_registry", "") == "", stack
