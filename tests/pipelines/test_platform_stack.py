"""The platform's pulumi commands as CI runs them: each stack with its pack config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_platform.ci.platform_stack import (
    REPO_ROOT,
    check_stack,
    known_stacks,
    main,
    pulumi_command,
)

WORKFLOW_STACKS = ("platform-pull-request", "platform-drift")


def test_every_stack_has_its_config_and_pack_config() -> None:
    assert known_stacks() == ["dev", "prod", "staging"]
    for stack in known_stacks():
        check_stack(stack)
        command = pulumi_command("preview", stack)
        config = Path(command[command.index("--policy-pack-config") + 1])
        assert (REPO_ROOT / config).is_file()
        assert config.name == f"{stack}.json"


def test_drift_fails_on_any_change_after_a_refresh() -> None:
    command = pulumi_command("drift", "prod")
    assert command[:2] == ["pulumi", "preview"]
    assert {"--refresh", "--expect-no-changes", "--policy-pack"} <= set(command)


def test_destroy_needs_no_policy_pack() -> None:
    assert "--policy-pack" not in pulumi_command("destroy", "dev")


@pytest.mark.parametrize("workflow", WORKFLOW_STACKS)
def test_the_workflows_matrix_covers_every_stack(workflow: str) -> None:
    document = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / f"{workflow}.yml")
                              .read_text())
    matrices = [job["strategy"]["matrix"]["stack"] for job in document["jobs"].values()
                if "strategy" in job]
    assert [sorted(stacks) for stacks in matrices] == [known_stacks()]


def test_an_unknown_stack_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "--stack", "qa"]) == 2
    assert "unknown stack 'qa': choose one of dev, prod, staging" in capsys.readouterr().err


def test_without_the_pulumi_cli_it_says_how_to_get_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["preview", "--stack", "dev", "--markdown", str(tmp_path / "p.md")]) == 2
    assert "`pulumi` is not on PATH" in capsys.readouterr().err
    assert not (tmp_path / "p.md").exists()


def test_the_gitlab_platform_pipeline_covers_every_stack() -> None:
    document = yaml.safe_load((REPO_ROOT / "pipelines" / "gitlab" / "platform.yml").read_text())
    for job in ("preview", "drift"):
        [matrix] = document[job]["parallel"]["matrix"]
        assert sorted(matrix["STACK"]) == known_stacks(), job
    deployed = [document[job]["script"][0].split("--stack ")[1]
                for job in ("deploy-dev", "deploy-staging", "deploy-prod")]
    assert deployed == ["dev", "staging", "prod"]
    assert document["deploy-prod"]["rules"][0]["when"] == "manual"
