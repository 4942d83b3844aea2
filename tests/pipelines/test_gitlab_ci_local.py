"""The generated GitLab pipelines as GitLab evaluates them: gitlab-ci-local (pinned in
pipelines/tools) reads each level's .gitlab-ci.yml with the platform's shared include
(`workflow:`, `rules:`, `extends:`, `include: project:`) and lists the jobs of a merge request,
a push to main and a schedule; the platform repository's own pipeline likewise. A broken rule
or include changes what it lists, or stops it. Level 2's merge-request jobs run end to end with
its shell executor, and its schedule's drift job on served rows in the store."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest
import yaml

from mlops_platform.ci.verdict import RETRAIN, VERDICT_KEY
from mlops_platform.contract import read_outputs
from mlops_platform.local_platform.auth import LocalCredentials, load_or_create
from mlops_platform.local_platform.state import outputs_path
from mlops_platform.prediction_log import Predictor, new_ids, prediction_lines, served_prefix
from mlops_platform.tools.create_reader import AuthApi, Credentials, ensure_reader
from tests.pipelines.gitlab_ci_local import (
    MERGE_REQUEST,
    STATE_DIR,
    as_gitlab_checkout,
    git,
    pipeline_jobs,
    run,
)
from tests.support.servers import S3Endpoint, running_local_platform, running_moto_s3
from tests.template.baking import LEVELS, make
from tests.template.test_monitor import outputs_in_store

MANUAL, AUTO = "manual", "on_success"
SOURCES = (MERGE_REQUEST, "push", "schedule")
EXPECTED = {
    "0": {MERGE_REQUEST: {"checks": AUTO},
          "push": {"checks": AUTO, "pipeline": MANUAL},
          "schedule": {}},
    "1": {MERGE_REQUEST: {"checks": AUTO, "pipeline-sample": AUTO},
          "push": {"checks": AUTO, "pipeline": AUTO},
          "schedule": {"retrain": AUTO}},
    "2": {MERGE_REQUEST: {"checks": AUTO, "pipeline-sample": AUTO},
          # deploy-staging: its approver is who starts it, not who pushed (and trained).
          "push": {"checks": AUTO, "pipeline": AUTO, "deploy-staging": MANUAL,
                   "deploy-prod": MANUAL, "rollback": MANUAL},
          # ab-report joins them while ab_test.yaml plans a test; canary while canary.yaml does.
          "schedule": {"drift": AUTO, "retrain": AUTO, "canary": AUTO}},
}
PLATFORM_EXPECTED = {
    MERGE_REQUEST: {"checks": AUTO, "preview: [dev]": AUTO, "preview: [staging]": AUTO,
                    "preview: [prod]": AUTO},
    "push": {"checks": AUTO, "deploy-dev": AUTO},
    "schedule": {"drift: [dev]": AUTO, "drift: [staging]": AUTO, "drift: [prod]": AUTO},
}


@pytest.fixture(scope="module")
def checkouts(baked_projects: dict[tuple[str, str], Path],
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each level's GitLab project as a runner checks it out (a copy: the bakes are shared)."""
    return {level: as_gitlab_checkout(baked_projects[level, "gitlab"],
                                      tmp_path_factory.mktemp(f"gitlab-level{level}"))
            for level in LEVELS}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("source", SOURCES)
def test_each_levels_pipeline_has_the_jobs_gitlab_would_create(
        checkouts: dict[str, Path], level: str, source: str) -> None:
    assert pipeline_jobs(checkouts[level], source) == EXPECTED[level][source]


def test_the_platforms_own_pipeline_has_the_jobs_of_each_source(tmp_path: Path) -> None:
    checkout = platform_checkout(tmp_path)
    for source, expected in PLATFORM_EXPECTED.items():
        assert pipeline_jobs(checkout, source, file=PLATFORM_FILE) == expected, source
    tagged = pipeline_jobs(checkout, "push", file=PLATFORM_FILE,
                           variables={"CI_COMMIT_TAG": "v0.2.0"}, branch=None)
    # A release tag deploys to staging, and to prod once its approvers release the job.
    assert tagged == {"deploy-staging": AUTO, "deploy-prod": MANUAL}


def test_a_broken_rule_changes_what_gitlab_would_run(checkouts: dict[str, Path],
                                                     tmp_path: Path) -> None:
    checkout = as_gitlab_checkout(checkouts["2"], tmp_path)
    pipeline = checkout / ".gitlab-ci.yml"
    text = pipeline.read_text()
    retrain = text.index("\nretrain:")
    broken = text[:retrain] + text[retrain:].replace(
        '$CI_PIPELINE_SOURCE == "schedule"', '$CI_PIPELINE_SOURCE == "scheduled"', 1)
    pipeline.write_text(broken)
    assert "retrain" not in pipeline_jobs(checkout, "schedule")


def test_a_broken_include_stops_the_pipeline_naming_what_is_missing(
        checkouts: dict[str, Path], tmp_path: Path) -> None:
    checkout = as_gitlab_checkout(checkouts["2"], tmp_path)
    [shared] = (checkout / STATE_DIR / "includes").rglob("ml-project.yml")
    text = shared.read_text()
    shared.write_text(text.replace(".mlops-on-retrain-verdict:", ".mlops-on-a-verdict:", 1))
    listed = run(checkout, "schedule", "--list-json")
    assert listed.returncode != 0
    assert ".mlops-on-retrain-verdict" in listed.stdout + listed.stderr


PLATFORM_FILE = "pipelines/gitlab/platform.yml"


def platform_checkout(where: Path) -> Path:
    """A clone of this repository's committed state with a GitLab `origin` that has main."""
    from tests.pipelines.ci_tools import REPO_ROOT

    checkout = where / "platform"
    git(where, "clone", "--quiet", str(REPO_ROOT), str(checkout))
    git(checkout, "remote", "set-url", "origin", "git@gitlab.example.com:mlops/platform.git")
    git(checkout, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(checkout, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    # The working tree's version of the pipeline, committed or not.
    (checkout / PLATFORM_FILE).write_text((REPO_ROOT / PLATFORM_FILE).read_text())
    return checkout


@pytest.fixture(scope="module")
def platform_with_login(tmp_path_factory: pytest.TempPathFactory
                        ) -> Iterator[tuple[Path, LocalCredentials]]:
    """A local platform with basic auth and the champion guard: its outputs file and logins."""
    state_dir = tmp_path_factory.mktemp("gitlab-platform") / "state"
    with running_local_platform(state_dir, auth=True):
        yield outputs_path(state_dir), load_or_create(state_dir)


@pytest.fixture(scope="module")
def on_main(baked_projects: dict[tuple[str, str], Path],
            tmp_path_factory: pytest.TempPathFactory,
            platform_with_login: tuple[Path, LocalCredentials]
            ) -> tuple[Path, dict[str, str], dict[str, str]]:
    """Level 2's project as main holds it (a champion the gate promoted, its records pushed);
    the environment its jobs see (the platform's outputs, the DVC cache GitLab's job cache
    would restore); and the project's CI/CD variables with the registry reader's login."""
    outputs, logins = platform_with_login
    where = tmp_path_factory.mktemp("gitlab-run")
    checkout = as_gitlab_checkout(baked_projects["2", "gitlab"], where)
    env = {**os.environ, "PLATFORM_OUTPUTS": str(outputs)}
    on_main_with_a_champion(checkout, {**env, **login(logins.admin), **gate_login(logins.gate)},
                            {**env, **login(logins.gate)})
    tracking_uri = read_outputs(outputs).tracking_uri
    reader = Credentials("ci-reader", "reader-password-of-the-ci")
    ensure_reader(AuthApi(tracking_uri, logins.admin), reader)
    return (checkout, {**env, "XDG_CONFIG_HOME": str(restored_dvc_cache(checkout, where))},
            {"MLFLOW_READER_USERNAME": reader.username,
             "MLFLOW_READER_PASSWORD": reader.password})


def login(credentials: Credentials) -> dict[str, str]:
    return {"MLFLOW_TRACKING_USERNAME": credentials.username,
            "MLFLOW_TRACKING_PASSWORD": credentials.password}


def gate_login(credentials: Credentials) -> dict[str, str]:
    return {"MLFLOW_GATE_USERNAME": credentials.username,
            "MLFLOW_GATE_PASSWORD": credentials.password}


@pytest.mark.slow
def test_a_merge_requests_jobs_run_end_to_end_in_shell_mode(
        on_main: tuple[Path, dict[str, str]]) -> None:
    """Level 2's merge-request pipeline, as GitLab would run it, against the local platform
    with its login on, as the registry's read-only reader:
    `make venv` of the project's own environment, lint, its tests and the governance check,
    then the pipeline on a sample and the metrics against the champion."""
    checkout, env, reader = on_main
    git(checkout, "checkout", "--quiet", "-b", "a-change")
    try:
        ran = run(checkout, MERGE_REQUEST, "--force-shell-executor", env=env, timeout=900,
                  variables=reader)
    finally:
        git(checkout, "checkout", "--quiet", "main")

    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    assert re.findall(r"^ PASS  (\S+)", ran.stdout, re.MULTILINE) == ["checks",
                                                                      "pipeline-sample"]
    assert "| **roc_auc** |" in ran.stdout  # the metrics diff against the champion


@pytest.mark.slow
def test_the_schedules_drift_job_reads_the_store_and_hands_its_verdict_on(
        on_main: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The scheduled drift job, as GitLab would run it: drifted served rows in the platform's
    store (moto's S3), read with the store's reader variables, give the verdict retrain in
    the dotenv report the retrain job reads."""
    checkout, env, reader = on_main
    model = yaml.safe_load((checkout / "params.yaml").read_text())["model"]["name"]
    with running_moto_s3(tmp_path) as store:
        ship_drifted_rows(checkout, store, model)
        outputs = outputs_in_store(Path(env["PLATFORM_OUTPUTS"]), tmp_path, f"s3://{BUCKET}")
        ran = run(checkout, "schedule", "--force-shell-executor", "drift", timeout=900,
                  env={**env, "PLATFORM_OUTPUTS": str(outputs), "AWS_DEFAULT_REGION": "us-east-1"},
                  variables={**reader, "MLOPS_STORE_ENDPOINT_URL": store.url,
                             "MLOPS_STORE_READER_ACCESS_KEY_ID": store.access_key,
                             "MLOPS_STORE_READER_SECRET_ACCESS_KEY": store.secret_key})

    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    assert f"drift: served inputs from s3://{BUCKET}/{served_prefix(model)}/" in ran.stdout
    [verdict] = (checkout / STATE_DIR / "artifacts").rglob("verdict.env")
    assert verdict.read_text() == f"{VERDICT_KEY}={RETRAIN}\n"


BUCKET = "platform"


def ship_drifted_rows(checkout: Path, store: S3Endpoint, model: str) -> None:
    """What the log shippers put in the store: served rows, every feature tripled."""
    train = pd.read_csv(checkout / "data" / "prepared" / "train.csv")
    rows = (train.drop(columns="target").sample(200, random_state=3) * 3.0).to_dict("records")
    lines = prediction_lines(rows, [0] * len(rows), new_ids(len(rows)),
                             Predictor(model, "1", "onnx"), time.time())
    client = boto3.client("s3", endpoint_url=store.url, region_name="us-east-1",
                          aws_access_key_id=store.access_key,
                          aws_secret_access_key=store.secret_key)
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key=f"{served_prefix(model)}/serving-0/rows.jsonl",
                      Body=lines)


def on_main_with_a_champion(checkout: Path, training: dict[str, str],
                            gate: dict[str, str]) -> None:
    """What main holds before a merge request: trained with the writer's login, approved and
    promoted with the gate's (as level 2's CI does), its records committed and pushed."""
    make(checkout, "pipeline", env=training)
    make(checkout, "approve", "APPROVER=release-reviewer", env=gate)
    make(checkout, "promote", env=gate)
    git(checkout, "add", "--all")
    git(checkout, "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit", "--quiet",
        "-m", "main trained and promoted")
    git(checkout, "update-ref", "refs/remotes/origin/main", "HEAD")


def restored_dvc_cache(checkout: Path, where: Path) -> Path:
    """An XDG_CONFIG_HOME whose DVC config points at the checkout's cache: what GitLab's job
    cache (`.dvc/cache/`, keyed per branch) restores into the job's build folder."""
    config = where / "xdg-config"
    (config / "dvc").mkdir(parents=True)
    (config / "dvc" / "config").write_text(f"[cache]\n    dir = {checkout / '.dvc' / 'cache'}\n")
    return config
