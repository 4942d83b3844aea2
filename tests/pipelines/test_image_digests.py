"""The image release workflow's stack edit: `python -m mlops_platform.ci.image_digests`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.config import ConfigError, parse_config
from mlops_platform.ci.image_digests import DigestError, pin_images
from tests.infra.stacks import STAND_IN_DIGEST
from tests.pipelines.ci_tools import REPO_ROOT

# Full stack config parses and child processes: about 2 s per test here.
pytestmark = pytest.mark.slow

REGISTRY = "reg.example.com/acme/mlops-platform"
DIGESTS = {"tracking_image": "a1" * 32, "serving_image": "b2" * 32, "tools_image": "c3" * 32}
RELEASED = {key: f"{REGISTRY}/{name}:v0.2.0@sha256:{DIGESTS[key]}"
            for key, name in [("tracking_image", "mlflow-server"), ("serving_image", "serving"),
                              ("tools_image", "tools")]}


def pin(stack_file: Path, images: dict[str, str]) -> subprocess.CompletedProcess[str]:
    arguments = [part for key, ref in images.items() for part in ("--image", f"{key}={ref}")]
    return subprocess.run([sys.executable, "-m", "mlops_platform.ci.image_digests",
                           "--stack-file", str(stack_file), *arguments],
                          capture_output=True, text=True, timeout=60)


def settings(stack_file: Path) -> dict[str, object]:
    config = yaml.safe_load(stack_file.read_text())["config"]
    return {key.removeprefix("mlops-platform:"): value for key, value in config.items()}


@pytest.fixture
def prod_copy(tmp_path: Path) -> Path:
    return Path(shutil.copy(REPO_ROOT / "Pulumi.prod.yaml", tmp_path / "Pulumi.prod.yaml"))


def test_a_release_pins_the_three_images_in_the_prod_stack(prod_copy: Path) -> None:
    before = prod_copy.read_text()
    result = pin(prod_copy, RELEASED)
    assert result.returncode == 0, result.stderr
    assert {key: settings(prod_copy)[key] for key in RELEASED} == RELEASED
    after = prod_copy.read_text()
    # Only the three commented-out lines changed, uncommented in place; every comment stays.
    changed = [(old, new) for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
               if old != new]
    assert changed == [(f"  # mlops-platform:{key}: {old_ref}", f"  mlops-platform:{key}: {ref}")
                       for (key, ref), old_ref in zip(RELEASED.items(), [
                           "mlops-platform/mlflow-server:0.1.0@sha256:<digest>",
                           "mlops-platform/serving:0.1.0@sha256:<digest>",
                           "mlops-platform/tools:0.1.0@sha256:<digest>"], strict=True)]
    assert "# mlops-platform:object_store_image:" in after


def test_the_pinned_prod_stack_is_accepted_by_the_platform_config(prod_copy: Path) -> None:
    assert pin(prod_copy, RELEASED).returncode == 0
    # PostgreSQL, the object store and the Pushgateway are third-party images the release
    # does not build: still to pin, and nothing else is refused.
    with pytest.raises(ConfigError) as raised:
        parse_config(settings(prod_copy))
    assert raised.value.key == "database_image"
    assert str(raised.value).count("nor are object_store_image, pushgateway_image)") == 1
    third_party = {"database_image": f"postgres:15.8-alpine@{STAND_IN_DIGEST}",
                   "object_store_image": f"chrislusf/seaweedfs:4.22@{STAND_IN_DIGEST}",
                   "pushgateway_image": f"prom/pushgateway:v1.11.4@{STAND_IN_DIGEST}"}
    assert pin(prod_copy, third_party).returncode == 0
    config = parse_config(settings(prod_copy))
    assert {key: config.image(key) for key in RELEASED} == RELEASED


def test_a_second_release_replaces_the_pinned_lines(prod_copy: Path) -> None:
    assert pin(prod_copy, RELEASED).returncode == 0
    newer = {key: ref.replace(":v0.2.0@", ":v0.3.0@").replace(DIGESTS[key], "d4" * 32)
             for key, ref in RELEASED.items()}
    result = pin(prod_copy, newer)
    assert result.returncode == 0, result.stderr
    assert {key: settings(prod_copy)[key] for key in newer} == newer
    assert prod_copy.read_text().count("mlops-platform:tracking_image:") == 1


def test_pinning_the_same_digests_again_changes_nothing(prod_copy: Path) -> None:
    assert pin(prod_copy, RELEASED).returncode == 0
    pinned = prod_copy.read_text()
    result = pin(prod_copy, RELEASED)
    assert result.returncode == 0
    assert "already pinned mlops-platform:tracking_image" in result.stdout
    assert prod_copy.read_text() == pinned


@pytest.mark.parametrize(("ref", "problem"), [
    (f"{REGISTRY}/serving:v0.2.0", "is not pinned: it must end in :<tag>@sha256:<64"),
    (f"{REGISTRY}/serving:v0.2.0@sha256:{'b2' * 31}", "is not pinned"),
    (f"{REGISTRY}/serving:v0.2.0@sha256:{'B2' * 32}", "is not pinned"),
    (f"{REGISTRY}/serving@sha256:{'b2' * 32}", "is not pinned"),
    (f"{REGISTRY}/serving:v0.2.0@sha256:{'0' * 64}", "placeholder digest"),
], ids=["no-digest", "short-digest", "uppercase-digest", "no-tag", "placeholder"])
def test_an_unpinned_reference_is_refused_and_nothing_is_written(
        prod_copy: Path, ref: str, problem: str) -> None:
    before = prod_copy.read_text()
    result = pin(prod_copy, {**RELEASED, "serving_image": ref})
    assert result.returncode == 1
    assert result.stderr.startswith(f"image_digests: error: --image serving_image={ref!r}")
    assert problem in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert prod_copy.read_text() == before


@pytest.mark.parametrize(("argument", "problem"), [
    (f"tracking-image={RELEASED['tracking_image']}", "must look like <key>=<image>"),
    (RELEASED["tracking_image"], "must look like <key>=<image>"),
    (f"tracking_imag={RELEASED['tracking_image']}",
     "has no mlops-platform:tracking_imag line, active or commented out"),
    (f"tracking_image={RELEASED['serving_image']}", "is given twice"),
], ids=["bad-key", "no-key", "unknown-key", "twice"])
def test_a_bad_image_argument_is_refused_with_the_fix(
        prod_copy: Path, argument: str, problem: str) -> None:
    before = prod_copy.read_text()
    result = subprocess.run([sys.executable, "-m", "mlops_platform.ci.image_digests",
                             "--stack-file", str(prod_copy), "--image",
                             f"tracking_image={RELEASED['tracking_image']}", "--image", argument],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert problem in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert prod_copy.read_text() == before


def test_a_missing_stack_file_is_named(tmp_path: Path) -> None:
    result = pin(tmp_path / "Pulumi.nope.yaml", RELEASED)
    assert result.returncode == 1
    assert "Pulumi.nope.yaml does not exist" in result.stderr


def test_an_active_line_wins_over_a_commented_one_and_line_endings_stay() -> None:
    text = ("config:\r\n  # mlops-platform:tools_image: old/tools:1@sha256:<digest>\r\n"
            "  mlops-platform:tools_image: old/tools:1  # keep me? no: the line is replaced\r\n")
    pinned = pin_images(text, {"tools_image": RELEASED["tools_image"]})
    assert pinned == ("config:\r\n  # mlops-platform:tools_image: old/tools:1@sha256:<digest>\r\n"
                      f"  mlops-platform:tools_image: {RELEASED['tools_image']}\r\n")


def test_a_key_that_is_only_a_prefix_of_another_is_not_matched() -> None:
    with pytest.raises(DigestError, match="no mlops-platform:tools line"):
        pin_images("config:\n  mlops-platform:tools_image: a/b:1\n", {"tools": "x"})
