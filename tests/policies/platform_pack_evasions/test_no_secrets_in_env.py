"""Ways around no-secrets-in-env: other spellings of secret names, secrets on command lines."""

from __future__ import annotations

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "no-secrets-in-env"
DEPLOYMENT = obj.deployment()


def env(name: str, value: str) -> obj.Resource:
    return obj.with_container(DEPLOYMENT, env=[{"name": name, "value": value}])


def command(*words: str) -> obj.Resource:
    return obj.with_container(DEPLOYMENT, command=list(words))


NAMES = ["DB_PASS", "PGPASSWORD", "MLFLOW_TRACKING_PASSWORD", "aws_secret_access_key",
         "dbPassword", "db.pass", "MYSQL_PWD", "HF_TOKEN", "githubToken", "SIGNING_KEY",
         "SSH_PRIVATE_KEY", "OPENAI_API_KEY", "ApiKey", "REDIS_CREDS", "Db-Passphrase"]
EVASIONS = {
    **{f"secret named {name}": (env(name, "hunter2"), "plain env value") for name in NAMES},
    "URL credentials without a user": (env("REDIS_URL", "redis://:hunter2@redis:6379/0"),
                                       "plain env value"),
    "password in a connection string": (env("DSN", "Host=db;Username=u;Password=hunter2;"),
                                        "plain env value"),
    "password in a query string": (env("DATABASE", "postgresql://db/mlflow?password=hunter2"),
                                   "plain env value"),
    "secret read from a ConfigMap": (obj.with_container(DEPLOYMENT, env=[{
        "name": "DB_PASSWORD", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "pw"}}}]),
        "from a ConfigMap"),
    "--password=… in args": (obj.with_container(DEPLOYMENT, args=["--password=hunter2"]),
                             "command line"),
    "--password … as two words": (command("app", "--password", "hunter2"), "command line"),
    "--db-url with credentials": (command("app", "--db-url", "postgresql://u:p@db/mlflow"),
                                  "command line"),
    "inside sh -c": (command("sh", "-c", "PGPASSWORD=hunter2 pg_dump --host db mlflow"),
                     "command line"),
    "--backend-store-uri inside bash -lc": (command(
        "bash", "-lc", "exec mlflow server --backend-store-uri 'postgresql://u:p@db/m'"),
        "command line"),
    "in an exec probe": (obj.with_container(DEPLOYMENT, readinessProbe={"exec": {"command": [
        "sh", "-c", "PGPASSWORD=hunter2 pg_isready"]}}), "command line"),
    "in an init container": (obj.with_pod(DEPLOYMENT, initContainers=[obj.container(
        name="init", env=[{"name": "DB_PASS", "value": "hunter2"}])]), "Container 'init'"),
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    resource, says = EVASIONS[way]
    assert any(says in message for message in caught(RULE, resource))


HELD = {
    "secret from a Secret": obj.with_container(DEPLOYMENT, env=[{"name": "DB_PASS", "valueFrom": {
        "secretKeyRef": {"name": "db", "key": "password"}}}]),
    "a reference to another variable": env("PGPASSWORD", "$(POSTGRES_PASSWORD)"),
    "where the secret is mounted": env("POSTGRES_PASSWORD_FILE", "/run/secrets/pw"),
    "the working directory": env("PWD", "/app"),
    "a tokenizer setting": env("TOKENIZERS_PARALLELISM", "false"),
    "the platform's backup script": command(
        "sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" pg_dump --host "$DB_HOST" '
        '--username "$POSTGRES_USER" --format custom --file /backup/mlflow.dump'),
    "the platform's auth config path": env("MLFLOW_AUTH_CONFIG_PATH", "/etc/mlflow/auth.ini"),
}


@pytest.mark.parametrize("held", sorted(HELD))
def test_look_alikes_that_hold_no_secret_pass(held: str) -> None:
    assert run_rule(RULE, HELD[held], "prod") == []
