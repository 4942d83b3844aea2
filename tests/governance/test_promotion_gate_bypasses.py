"""Each way around the promotion gate that issue #13 lists, against a real local MLflow server."""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from mlops_platform import contract as ml_contract
from mlops_platform.client.project import Project
from mlops_platform.governance import audit_log
from mlops_platform.governance.approvals import (
    TAG_APPROVAL_RECORD,
    ApprovalError,
    approver_identity,
    trainer_identity,
)
from mlops_platform.governance.cli import main as cli
from mlops_platform.governance.promotion_gate import (
    ABORTED,
    PENDING,
    PROMOTED,
    REFUSED,
    RESET,
    promote,
    promote_project,
)
from tests.governance.model_versions import (
    lineage,
    register_version,
    write_project,
)

CI_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_ACTOR", "GITLAB_CI", "GITLAB_USER_LOGIN")


@pytest.fixture(autouse=True)
def outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def champion(client: MlflowClient, name: str) -> str | None:
    return client.get_registered_model(name).aliases.get(ml_contract.ALIAS_CHAMPION)


def log_of(project: Path) -> Path:
    return project / ml_contract.AUDIT_LOG_FILE


def set_params(root: Path, **changes: dict) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    for section, values in changes.items():
        params[section].update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def test_a_loose_params_tolerance_is_capped_by_the_platform(shared_platform, client, model_name,
                                                            tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name, tolerance=0.5)
    first = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.97)
    assert promote_project(project, actor="release-bot").outcome == PROMOTED
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.91)

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert champion(client, model_name) == first
    assert decision.record.reasons == [f"roc_auc 0.9100 is worse than champion version {first} "
                                       "(0.9700, tolerance 0.02)"]
    assert decision.record.details["params_rule"]["tolerance"] == 0.5


def test_a_threshold_below_the_platform_floor_is_raised_to_it(shared_platform, model_name,
                                                              tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name, threshold=0.1)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.49)

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert decision.record.reasons == ["roc_auc 0.4900 misses the threshold 0.5"]


def test_a_metric_logged_on_a_refused_run_does_not_promote_it(shared_platform, client,
                                                              model_name, tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    first = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.96)
    promote_project(project, actor="release-bot")
    worse = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.93)
    assert promote_project(project, actor="release-bot").outcome == REFUSED
    run_id = client.get_model_version(model_name, worse).run_id
    client.log_metric(run_id, "roc_auc", 0.99)

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert champion(client, model_name) == first
    assert decision.record.reasons == [
        f"roc_auc logged on run {run_id} (0.990000) is not what version {worse} scores on the "
        "test split (0.930000): the run's metrics were edited or computed on other data; rerun "
        "the pipeline"]


def test_lowering_the_maturity_level_keeps_the_approval_the_audit_log_requires(
        shared_platform, client, model_name, tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name, level=2)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    assert cli(["approve", "--project", str(project), "--by", "alice"]) == 0
    assert promote_project(project, actor="release-bot").outcome == PROMOTED
    set_params(project, project={"maturity_level": 0})
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.97)

    decision = promote_project(project, actor="release-bot")

    assert decision.outcome == REFUSED
    assert decision.record.reasons[0].startswith("no approval recorded (level 2 requires one)")


def approved_level_two(shared_platform, model_name: str, tmp_path: Path) -> tuple[Path, str]:
    project = write_project(tmp_path, shared_platform, model_name, level=2)
    return project, register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)


def refusal(project: Path, actor: str = "release-bot") -> str:
    decision = promote_project(project, actor=actor)
    assert decision.outcome == REFUSED
    return next(check.reason for check in decision.checks if check.name == "approval")


def test_the_promoter_cannot_approve_their_own_promotion(shared_platform, client, model_name,
                                                         tmp_path) -> None:
    project, _ = approved_level_two(shared_platform, model_name, tmp_path)
    assert cli(["approve", "--project", str(project), "--by", "release-bot"]) == 0

    assert refusal(project).startswith("release-bot approved and promotes: the approver must "
                                       "be someone else")
    assert champion(client, model_name) is None


def test_the_runs_author_cannot_approve_it(shared_platform, client, model_name,
                                           tmp_path) -> None:
    project, version = approved_level_two(shared_platform, model_name, tmp_path)
    author = client.get_run(client.get_model_version(model_name, version).run_id).data.tags[
        "mlflow.user"]
    assert cli(["approve", "--project", str(project), "--by", author]) == 0

    assert refusal(project).startswith(f"{author} is the author of run")


def test_an_approval_typed_into_the_registry_is_not_an_approval(shared_platform, client,
                                                                model_name, tmp_path) -> None:
    project, version = approved_level_two(shared_platform, model_name, tmp_path)
    client.set_model_version_tag(model_name, version, ml_contract.TAG_APPROVED_BY, "alice")
    forged = {"version": version, "approver": "alice", "source": "local", "record": "1:abc"}
    client.set_model_version_tag(model_name, version, TAG_APPROVAL_RECORD, json.dumps(forged))

    assert refusal(project).startswith("the approval by alice has no matching record in the "
                                       "audit log (record 1:abc)")


def test_an_approval_copied_from_another_version_does_not_count(shared_platform, client,
                                                                model_name, tmp_path) -> None:
    project, first = approved_level_two(shared_platform, model_name, tmp_path)
    assert cli(["approve", "--project", str(project), "--by", "alice"]) == 0
    second = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.96)
    binding = client.get_model_version(model_name, first).tags[TAG_APPROVAL_RECORD]
    client.set_model_version_tag(model_name, second, TAG_APPROVAL_RECORD, binding)

    assert refusal(project).startswith(f"the approval names version {first}, not {second}")


def test_prod_accepts_only_an_approval_identity_from_the_ci_platform(
        shared_platform, client, model_name, tmp_path, monkeypatch) -> None:
    prod = dataclasses.replace(shared_platform, environment="prod")
    project = write_project(tmp_path, prod, model_name, level=1, tolerance=0.0)
    register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    assert cli(["approve", "--project", str(project), "--by", "alice"]) == 0
    assert refusal(project).startswith("the approval by alice comes from identity source local")

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_ACTOR", "carol")
    assert cli(["approve", "--project", str(project), "--by", "mallory"]) == 2
    assert cli(["approve", "--project", str(project)]) == 0
    assert audit_log.read(log_of(project))[-1]["details"]["identity_source"] == "github-actions"
    monkeypatch.delenv("GITHUB_ACTIONS")

    assert promote_project(project, actor="release-bot").outcome == PROMOTED


def test_the_person_whose_ci_run_trained_it_cannot_approve_it(
        shared_platform, client, model_name, tmp_path, monkeypatch) -> None:
    """Not the tracking account (every job shares it): the person the CI platform names, which
    the training run recorded."""
    prod = dataclasses.replace(shared_platform, environment="prod")
    project = write_project(tmp_path, prod, model_name, level=1, tolerance=0.0)
    version = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95,
                               tags={**lineage(), ml_contract.TAG_TRAINED_BY: "carol"})
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_ACTOR", "carol")
    assert cli(["approve", "--project", str(project)]) == 0

    assert refusal(project).startswith(
        f"carol started the training of version {version} (run "
        f"{client.get_model_version(model_name, version).run_id}, tag "
        f"{ml_contract.TAG_TRAINED_BY}): the approval must come from another person")
    assert champion(client, model_name) is None

    monkeypatch.setenv("GITHUB_ACTOR", "dave")
    assert cli(["approve", "--project", str(project)]) == 0
    assert promote_project(project, actor="release-bot").outcome == PROMOTED


def test_a_training_run_records_the_ci_platforms_person_else_the_login(monkeypatch) -> None:
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("GITLAB_USER_LOGIN", "erin")
    assert trainer_identity() == approver_identity(None)
    assert trainer_identity().name == "erin"
    monkeypatch.delenv("GITLAB_CI")
    assert trainer_identity().name == getpass.getuser()

    def no_passwd_entry() -> str:
        raise KeyError("getpwuid(): uid not found")

    monkeypatch.setattr(getpass, "getuser", no_passwd_entry)  # some containers' user ids
    assert trainer_identity().name == f"uid-{os.getuid()}"


def test_a_hand_moved_champion_is_not_laundered_by_promoting_it(shared_platform, client,
                                                                model_name, tmp_path) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    first = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.96)
    promote_project(project, actor="release-bot")
    worse = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.91)
    assert promote_project(project, actor="release-bot").outcome == REFUSED
    client.set_registered_model_alias(model_name, ml_contract.ALIAS_CHAMPION, worse)

    decision = promote_project(project, version=worse, actor="release-bot")

    assert decision.outcome == REFUSED
    assert decision.record.reasons[0].startswith(
        f"the champion is version {worse} but the gate last made version {first} champion: "
        "the alias was moved by hand")
    assert client.get_model_version(model_name, worse).tags[
        ml_contract.TAG_PROMOTION_OUTCOME] == REFUSED

    assert cli(["promote", "--project", str(project), "--reset-champion-from-audit",
                "--by", "operator"]) == 0
    assert champion(client, model_name) == first
    assert audit_log.read(log_of(project))[-1]["outcome"] == RESET
    better = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.98)
    assert promote_project(project, actor="release-bot").outcome == PROMOTED
    assert champion(client, model_name) == better


class CrashingClient(MlflowClient):
    """The process dies around the alias move: before it, or right after it."""

    def __init__(self, tracking_uri: str, move_first: bool) -> None:
        super().__init__(tracking_uri)
        self.move_first = move_first

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        if self.move_first:
            super().set_registered_model_alias(name, alias, version)
        raise KeyboardInterrupt("killed")


@pytest.mark.parametrize(("move_first", "settled"), [(False, ABORTED), (True, PROMOTED)],
                         ids=["crash-before-the-move", "crash-after-the-move"])
def test_a_crash_around_the_alias_move_is_settled_by_the_next_run(
        shared_platform, client, model_name, tmp_path, move_first, settled) -> None:
    project = write_project(tmp_path, shared_platform, model_name)
    version = register_version(shared_platform.tracking_uri, model_name, roc_auc=0.95)
    crashing = CrashingClient(shared_platform.tracking_uri, move_first)
    with pytest.raises(KeyboardInterrupt):
        promote(crashing, Project.open(project), "local", log_of(project), actor="release-bot")
    assert audit_log.read(log_of(project))[-1]["outcome"] == PENDING

    decision = promote_project(project, actor="release-bot")

    outcomes = [entry["outcome"] for entry in audit_log.read(log_of(project))]
    assert outcomes[:2] == [PENDING, settled]
    assert audit_log.read(log_of(project))[1]["details"]["recovered"] is True
    assert decision.outcome == ("unchanged" if move_first else PROMOTED)
    assert champion(client, model_name) == version
    assert audit_log.verify(log_of(project)).ok


def test_approve_refuses_a_name_that_differs_from_the_ci_identity(monkeypatch) -> None:
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("GITLAB_USER_LOGIN", "dave")

    assert approver_identity(None).source == "gitlab-ci"
    with pytest.raises(ApprovalError, match="--by eve differs from the CI identity dave"):
        approver_identity("eve")
