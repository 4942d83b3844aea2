"""The champion guard in a real `mlflow server --app-name champion-guard`: only the gate's
identity moves `champion`, through `mlops-policy promote`; other aliases keep MLflow's rules."""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlops_platform import contract as ml_contract
from mlops_platform import model_digest, serving
from mlops_platform.contract import PlatformOutputs
from mlops_platform.governance import gate_identity
from mlops_platform.governance.champion_guard import APP_NAME, GATE_USERNAME_ENV
from mlops_platform.governance.cli import main as mlops_policy
from mlops_platform.processes import free_port, http_ok
from mlops_platform.tools import create_reader
from tests.governance.model_versions import (
    experiment,
    fresh_model_name,
    register_version,
    tracking_to,
    write_project,
)
from tests.images.test_images import detached, image, wait_for
from tests.support.servers import AuthServer, running_basic_auth_mlflow

# Each test uses an MLflow server with the guard.
pytestmark = pytest.mark.slow

GATE = ("promotion-gate", "gate-password-0123456789")
TRAINER = ("trainer", "trainer-password-0123456789")
EDITOR = ("editor", "editor-password-0123456789")
REFUSAL = "only the promotion gate's identity may"


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("champion-guard")


@pytest.fixture(scope="module")
def server(server_dir: Path) -> Iterator[AuthServer]:
    with running_basic_auth_mlflow(server_dir, app_name=APP_NAME,
                                   env={GATE_USERNAME_ENV: GATE[0]}) as running:
        for username, password in (TRAINER, EDITOR):
            _call(running, "POST", "/api/2.0/mlflow/users/create",
                  {"username": username, "password": password}, as_admin=True)
        yield running


@pytest.fixture(scope="module")
def gate_user(server: AuthServer) -> tuple[str, str]:
    with pytest.MonkeyPatch.context() as patch:
        names = (*gate_identity.GATE_ENV, *create_reader.ADMIN_ENV)
        values = (*GATE, server.admin_username, server.admin_password)
        for name, value in zip(names, values, strict=True):
            patch.setenv(name, value)
        assert gate_identity.main(["--tracking-uri", server.url, "--wait-seconds", "5"]) == 0
    return GATE


def act_as(user: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", user[1])


def _call(server: AuthServer, method: str, path: str, body: dict, as_admin: bool = False,
          user: tuple[str, str] | None = None) -> tuple[int, str]:
    username, password = (server.admin_username, server.admin_password) if as_admin else user
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the test server's http URL
        f"{server.url}{path}", data=json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture
def promoted(server: AuthServer, gate_user: tuple[str, str], tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """A model the trainer registered and the gate promoted: (project, name, version)."""
    name = fresh_model_name()
    outputs = PlatformOutputs(tracking_uri=server.url, registry_uri=server.url,
                              artifact_store_uri="", environment="local", namespace="local")
    project = write_project(tmp_path / "project", outputs, name)
    act_as(TRAINER, monkeypatch)
    version = register_version(server.url, name, roc_auc=0.95)
    act_as(gate_user, monkeypatch)
    assert mlops_policy(["promote", "--project", str(project), "--by", "release-bot"]) == 0
    assert MlflowClient(server.url).get_registered_model(name).aliases == {
        ml_contract.ALIAS_CHAMPION: version, ml_contract.ALIAS_CHALLENGER: version}
    return project, name, version


def test_the_gate_identity_promotes_and_an_owner_cannot_move_champion(
        server: AuthServer, promoted: tuple[Path, str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    project, name, first = promoted
    act_as(TRAINER, monkeypatch)  # the model's creator: MANAGE on it
    second = register_version(server.url, name, roc_auc=0.97)  # moves `challenger`: allowed
    trainer = MlflowClient(server.url)
    assert trainer.get_registered_model(name).aliases[ml_contract.ALIAS_CHALLENGER] == second
    trainer.set_registered_model_alias(name, "shadow", second)
    trainer.delete_registered_model_alias(name, "shadow")

    for move in (lambda: trainer.set_registered_model_alias(name, "champion", second),
                 lambda: trainer.set_registered_model_alias(name, "Champion", second),
                 lambda: trainer.delete_registered_model_alias(name, "champion"),
                 lambda: trainer.delete_model_version(name, first),
                 lambda: trainer.rename_registered_model(name, f"{name}-renamed"),
                 lambda: trainer.delete_registered_model(name)):
        with pytest.raises(MlflowException, match=REFUSAL):
            move()
    assert trainer.get_registered_model(name).aliases[ml_contract.ALIAS_CHAMPION] == first

    # A pipeline job: trains as the trainer, holds the gate's identity for the promote stage.
    for variable, value in zip(gate_identity.GATE_ENV, GATE, strict=True):
        monkeypatch.setenv(variable, value)
    assert mlops_policy(["promote", "--project", str(project), "--by", "release-bot"]) == 0
    assert trainer.get_registered_model(name).aliases[ml_contract.ALIAS_CHAMPION] == second
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == TRAINER[0], "the gate switched back"


def test_editors_and_the_admin_are_refused_on_every_route(
        server: AuthServer, promoted: tuple[Path, str, str]) -> None:
    _, name, version = promoted
    status, _ = _call(server, "POST", "/api/3.0/mlflow/users/permissions/grant", {
        "username": EDITOR[0], "resource_type": "registered_model", "resource_id": name,
        "permission": "MANAGE"}, as_admin=True)
    assert status == 200
    # MANAGE: MLflow itself lets this user set and delete any alias of the model.
    for prefix in ("/api/2.0", "/ajax-api/2.0"):
        path = f"{prefix}/mlflow/registered-models/alias"
        for caller in ({"user": EDITOR}, {"as_admin": True}):
            status, body = _call(server, "POST", path,
                                 {"name": name, "alias": "champion", "version": version},
                                 **caller)
            assert (status, REFUSAL in body) == (403, True), (path, caller, body)
            status, body = _call(server, "DELETE", path, {"name": name, "alias": "champion"},
                                 **caller)
            assert (status, REFUSAL in body) == (403, True), (path, caller, body)
        # The same editor may still move an alias the guard does not protect.
        status, body = _call(server, "POST", path,
                             {"name": name, "alias": "staging", "version": version}, user=EDITOR)
        assert status == 200, body


def test_a_wrong_password_is_refused_after_the_right_one_was_accepted(
        server: AuthServer) -> None:
    """The server caches checked credentials (tracking_auth); a cached user is no master key."""
    path = "/api/2.0/mlflow/users/get?username=trainer"
    assert _call(server, "GET", path, {}, user=TRAINER)[0] == 200
    assert _call(server, "GET", path, {}, user=(TRAINER[0], f"{TRAINER[1]}x"))[0] == 401
    assert _call(server, "GET", path, {}, user=(TRAINER[0], ""))[0] == 401


def test_the_gate_run_with_another_identity_is_refused_in_one_line(
        server: AuthServer, promoted: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project, name, first = promoted
    act_as(TRAINER, monkeypatch)
    register_version(server.url, name, roc_auc=0.97)
    capsys.readouterr()

    assert mlops_policy(["promote", "--project", str(project), "--by", "release-bot"]) == 2

    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and REFUSAL in error and "Traceback" not in error
    assert MlflowClient(server.url).get_registered_model(name).aliases[
        ml_contract.ALIAS_CHAMPION] == first


def test_the_platforms_mlflow_image_runs_the_guard(platform_images: str) -> None:
    """The image `make images` builds serves `--app-name champion-guard` on a read-only root,
    with the settings infra/tracking_server.py gives it."""
    port = free_port()
    admin = ("admin", "admin-password-0123456789")
    options = ["-p", f"127.0.0.1:{port}:5000",
               "--env", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false",
               "--env", f"MLFLOW_AUTH_ADMIN_USERNAME={admin[0]}",
               "--env", f"MLFLOW_AUTH_ADMIN_PASSWORD={admin[1]}",
               "--env", "MLFLOW_FLASK_SERVER_SECRET_KEY=test-secret-key",
               "--env", f"{GATE_USERNAME_ENV}={GATE[0]}"]
    command = ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000",  # noqa: S104
               "--backend-store-uri", "sqlite:////tmp/m.db", "--workers", "1",
               "--app-name", APP_NAME]
    with detached(image("mlflow-server", platform_images), options, command) as name:
        server = AuthServer(f"http://127.0.0.1:{port}", *admin)
        wait_for(lambda: http_ok(f"{server.url}/health"), name, "mlflow server")
        api = create_reader.AuthApi(server.url, create_reader.Credentials(*admin))
        assert gate_identity.ensure_gate_user(api, create_reader.Credentials(*GATE))
        path = "/api/2.0/mlflow/registered-models"
        assert _call(server, "POST", f"{path}/create", {"name": "churn"}, as_admin=True)[0] == 200
        created = _call(server, "POST", "/api/2.0/mlflow/model-versions/create",
                        {"name": "churn", "source": "s3://bucket/churn/model"}, as_admin=True)
        assert created[0] == 200, created
        alias = {"name": "churn", "alias": "champion", "version": "1"}
        status, body = _call(server, "POST", f"{path}/alias", alias, as_admin=True)
        assert (status, REFUSAL in body) == (403, True), body
        assert _call(server, "POST", f"{path}/alias", alias, user=GATE)[0] == 200


def _tag_routes(prefix: str, name: str, version: str, key: str
                ) -> list[tuple[str, str, dict]]:
    """(method, path, body) that set, then delete, `key` on the model and on the version."""
    model, versions = f"{prefix}/mlflow/registered-models", f"{prefix}/mlflow/model-versions"
    return [("POST", f"{model}/set-tag", {"name": name, "key": key, "value": "forged"}),
            ("DELETE", f"{model}/delete-tag", {"name": name, "key": key}),
            ("POST", f"{versions}/set-tag",
             {"name": name, "version": version, "key": key, "value": "forged"}),
            ("DELETE", f"{versions}/delete-tag", {"name": name, "version": version, "key": key})]


def test_only_the_gate_sets_or_deletes_a_tag_the_gate_trusts(
        server: AuthServer, promoted: tuple[Path, str, str]) -> None:
    _, name, version = promoted
    for key in sorted(ml_contract.GATE_ONLY_TAGS):
        for prefix in ("/api/2.0", "/ajax-api/2.0"):
            for method, path, body in _tag_routes(prefix, name, version, key):
                if method == "DELETE":  # something to delete, set by the gate
                    set_path = path.replace("delete-tag", "set-tag")
                    assert _call(server, "POST", set_path, {**body, "value": "v"},
                                 user=GATE)[0] == 200
                for caller in ({"user": TRAINER}, {"as_admin": True}):
                    status, answer = _call(server, method, path, body, **caller)
                    assert (status, REFUSAL in answer) == (403, True), (path, caller, answer)
                    assert len(json.loads(answer)["message"].splitlines()) == 1
                status, answer = _call(server, method, path, body, user=GATE)
                # MLflow itself lets only MANAGE delete a version's tag; the gate holds EDIT.
                mlflows_rule = path.endswith("model-versions/delete-tag")
                assert REFUSAL not in answer and (status == 200 or mlflows_rule), (path, answer)


def test_gate_only_tags_cannot_come_with_a_new_model_or_version(
        server: AuthServer, promoted: tuple[Path, str, str]) -> None:
    _, name, _ = promoted
    source = MlflowClient(server.url).get_model_version(name, "1").source
    forged = [{"key": ml_contract.TAG_AUDIT_HEAD, "value": "1:forged"}]
    for prefix in ("/api/2.0", "/ajax-api/2.0"):
        created = _call(server, "POST", f"{prefix}/mlflow/registered-models/create",
                        {"name": fresh_model_name(), "tags": forged}, user=TRAINER)
        assert (created[0], REFUSAL in created[1]) == (403, True), created
        version = _call(server, "POST", f"{prefix}/mlflow/model-versions/create",
                        {"name": name, "source": source, "tags": forged}, user=TRAINER)
        assert (version[0], REFUSAL in version[1]) == (403, True), version
    plain = [{"key": ml_contract.TAG_GIT_COMMIT, "value": "0123abc"}]
    assert _call(server, "POST", "/api/2.0/mlflow/registered-models/create",
                 {"name": fresh_model_name(), "tags": plain}, user=TRAINER)[0] == 200


def test_a_double_encoded_body_changes_nothing(
        server: AuthServer, promoted: tuple[Path, str, str]) -> None:
    """MLflow's handlers decode a JSON body that is a JSON string (older clients); so does the
    guard, and such a request moves no alias and sets no tag."""
    _, name, version = promoted
    for path, body in (("/api/2.0/mlflow/registered-models/alias",
                        {"name": name, "alias": "champion", "version": "2"}),
                       ("/api/2.0/mlflow/registered-models/set-tag",
                        {"name": name, "key": ml_contract.TAG_AUDIT_HEAD, "value": "1:forged"})):
        status, answer = _call(server, "POST", path, json.dumps(body), user=TRAINER)  # type: ignore[arg-type]
        assert status in (400, 403), (path, answer)
    model = MlflowClient(server.url).get_registered_model(name)
    assert model.aliases[ml_contract.ALIAS_CHAMPION] == version
    assert model.tags[ml_contract.TAG_AUDIT_HEAD] != "1:forged"


def _model_files(server: AuthServer, name: str, version: str) -> str:
    """Where the version's logged model keeps its files, under the served artifact root."""
    client = MlflowClient(server.url)
    registered = client.get_model_version(name, version)
    model_id = registered.model_id or registered.source.removeprefix("models:/")
    return client.get_logged_model(model_id).artifact_location.removeprefix("mlflow-artifacts:/")


def _run_files(server: AuthServer, name: str, version: str) -> str:
    client = MlflowClient(server.url)
    run = client.get_run(client.get_model_version(name, version).run_id)
    return run.info.artifact_uri.removeprefix("mlflow-artifacts:/")


def _put(server: AuthServer, path: str, user: tuple[str, str]) -> tuple[int, str]:
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the test server's http URL
        f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{path}", data=b"swapped",
        method="PUT", headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_nobody_but_the_gate_writes_a_registered_versions_files(
        server: AuthServer, promoted: tuple[Path, str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, name, version = promoted
    model, run = _model_files(server, name, version), _run_files(server, name, version)
    before = model_digest.version_digest(name, version, server.url)
    for path in (f"{model}/model.skops", f"{model}/MLmodel", f"{run}/model_card.md",
                 f"{run}/new-file.txt"):
        status, answer = _put(server, path, TRAINER)
        assert (status, REFUSAL in answer) == (403, True), (path, answer)
    for prefix in ("/api/2.0", "/ajax-api/2.0"):
        for method, path in (("DELETE", f"mlflow-artifacts/artifacts/{model}/model.skops"),
                             ("DELETE", f"mlflow-artifacts/artifacts/{run.split('/')[0]}"),
                             ("POST", f"mlflow-artifacts/mpu/create/{model}/model.skops"),
                             ("POST", f"mlflow-artifacts/mpu/complete/{model}/model.skops")):
            for caller in ({"user": TRAINER}, {"as_admin": True}):
                status, answer = _call(server, method, f"{prefix}/{path}", {}, **caller)
                assert (status, REFUSAL in answer) == (403, True), (path, caller, answer)
    assert model_digest.version_digest(name, version, server.url) == before
    # A run with no registered version is the writer's to fill, as training does.
    act_as(TRAINER, monkeypatch)
    with tracking_to(server.url), mlflow.start_run(
            experiment_id=experiment(server.url, name)) as unregistered:
        pass
    unregistered_files = unregistered.info.artifact_uri.removeprefix("mlflow-artifacts:/")
    assert _put(server, f"{unregistered_files}/notes.txt", TRAINER)[0] == 200


def test_a_model_swapped_behind_the_servers_back_is_refused_by_serving_and_audit_verify(
        server: AuthServer, server_dir: Path, promoted: tuple[Path, str, str],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project, name, version = promoted
    tags = MlflowClient(server.url).get_model_version(name, version).tags
    assert tags[ml_contract.TAG_MODEL_DIGEST] == model_digest.version_digest(
        name, version, server.url).value
    assert mlops_policy(["audit", "verify", "--project", str(project)]) == 0
    stored = server_dir / "artifacts" / _model_files(server, name, version) / "model.skops"
    stored.write_bytes(stored.read_bytes() + b"\0")  # what a write to the bucket would do
    capsys.readouterr()

    assert mlops_policy(["audit", "verify", "--project", str(project)]) == 1
    assert "changed: model.skops" in capsys.readouterr().out
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv(serving.MLSERVER_ENV_VAR, "/bin/true")  # refused before it would start
    assert serving.main(["--model-uri", f"models:/{name}@champion", "--no-metrics"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "not the ones the gate promoted" in error, error


def test_serving_checks_a_promoted_version_and_notes_an_unpromoted_one(
        server: AuthServer, promoted: tuple[Path, str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, name, version = promoted
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    registered = serving.registry_version(f"models:/{name}@champion")
    files = serving.download_model(f"models:/{name}/{version}", tmp_path / "promoted")
    assert serving.check_promoted_files(registered, files) == ""
    act_as(TRAINER, monkeypatch)
    other = register_version(server.url, name, roc_auc=0.96)
    registered = serving.registry_version(f"models:/{name}/{other}")
    files = serving.download_model(f"models:/{name}/{other}", tmp_path / "unpromoted")
    assert "not promoted through the gate" in serving.check_promoted_files(registered, files)
