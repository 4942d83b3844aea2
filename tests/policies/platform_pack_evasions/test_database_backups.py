"""Ways around database-backups: a CronJob that names pg_dump but does not run it."""

from __future__ import annotations

import copy

import pytest

from tests.policies import platform_pack_objects as obj
from tests.policies.platform_pack_harness import caught, run_rule

RULE = "database-backups"


def suspended() -> obj.Resource:
    job = obj.backup_job()
    props = copy.deepcopy(job.props)
    props["spec"]["suspend"] = True
    return obj.Resource(job.type_, job.name, job.urn, props)


def database(image: str) -> obj.Resource:
    return obj.deployment(obj.container(name="db", image=image), name="db",
                          namespace="platform", type_=obj.k8s.STATEFUL_SET)


EVASIONS = {
    "pg_dump only echoed": [obj.postgres(), obj.backup_job("echo pg_dump skipped")],
    "pg_dump in a comment-like string": [obj.postgres(), obj.backup_job("true # pg_dump")],
    "a suspended backup": [obj.postgres(), suspended()],
    "PostGIS without a backup": [database("postgis/postgis:16-3.4")],
    "TimescaleDB without a backup": [database("timescale/timescaledb:2.15.0-pg16")],
}


@pytest.mark.parametrize("way", sorted(EVASIONS))
def test_way_around_is_caught(way: str) -> None:
    assert any("without a backup" in m for m in caught(RULE, EVASIONS[way], "prod"))


def test_the_platform_backup_script_counts() -> None:
    script = ('PGPASSWORD="$POSTGRES_PASSWORD" pg_dump --host "$DB_HOST" --format custom '
              '--file /backup/mlflow.dump "$POSTGRES_DB"')
    assert run_rule(RULE, [obj.postgres(), obj.backup_job(script)], "prod") == []
