"""create_bucket and upload_file against moto's S3 server (a real S3 endpoint, in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from mlops_platform.monitoring.catalog import BACKUP_JOB, BACKUP_LAST_SUCCESS
from mlops_platform.processes import free_port
from mlops_platform.tools import create_bucket, upload_file
from tests.support.scrape import scrape, values
from tests.support.servers import S3Endpoint, running_moto_s3, running_pushgateway


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    with running_moto_s3(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def credentials(s3: S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)


def buckets(s3: S3Endpoint) -> list[str]:
    client = boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1")
    return [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]


def test_the_bucket_is_created_once_and_a_rerun_keeps_it(
        s3: S3Endpoint, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--bucket", "artifacts-once", "--endpoint-url", s3.url]
    assert create_bucket.main(argv) == 0
    assert "bucket artifacts-once created" in capsys.readouterr().out
    assert create_bucket.main(argv) == 0
    assert "already exists" in capsys.readouterr().out
    assert buckets(s3).count("artifacts-once") == 1


def test_a_refused_bucket_is_one_line_with_exit_1(
        s3: S3Endpoint, capsys: pytest.CaptureFixture[str]) -> None:
    assert create_bucket.main(["--bucket", "ab", "--endpoint-url", s3.url]) == 1
    assert capsys.readouterr().err == (f"error: cannot create bucket 'ab' at {s3.url}: "
                                       "InvalidBucketName: The specified bucket is not valid.\n")


def test_an_endpoint_that_never_answers_fails_after_the_wait(
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert create_bucket.main(["--bucket", "b", "--endpoint-url", url,
                               "--wait-seconds", "0"]) == 1
    err = capsys.readouterr().err
    assert f"the object store at {url} did not answer within 0 s: " \
        f"127.0.0.1:{url.rsplit(':', 1)[1]} accepted no connection;" in err
    assert "its own log says why" in err
    assert err.count("\n") == 1


def test_a_backup_lands_under_a_timestamped_key(
        s3: S3Endpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_bucket.ensure_bucket("backups", s3.url)
    dump = tmp_path / "mlflow.dump"
    dump.write_bytes(b"PGDMP fake dump")
    assert upload_file.main([str(dump), "--bucket", "backups", "--endpoint-url", s3.url,
                             "--key", "backups/postgres/{timestamp}.dump"]) == 0
    client = boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1")
    (item,) = client.list_objects_v2(Bucket="backups")["Contents"]
    assert item["Key"].startswith("backups/postgres/") and item["Key"].endswith("Z.dump")
    assert client.get_object(Bucket="backups", Key=item["Key"])["Body"].read() == \
        b"PGDMP fake dump"
    assert f"to s3://backups/{item['Key']}" in capsys.readouterr().out


def test_the_timestamp_is_utc_and_sortable() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert upload_file.object_key("b/{timestamp}.dump", moment) == "b/20250102T030405Z.dump"


def test_a_missing_dump_is_one_line_with_exit_1(
        s3: S3Endpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert upload_file.main([str(tmp_path / "none.dump"), "--bucket", "backups",
                             "--endpoint-url", s3.url, "--key", "k"]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'none.dump'} does not exist; " \
        "nothing to upload\n"


def test_a_stored_backup_pushes_its_success_and_a_failed_one_nothing(
        s3: S3Endpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_bucket.ensure_bucket("backups", s3.url)
    dump = tmp_path / "mlflow.dump"
    dump.write_bytes(b"PGDMP fake dump")
    with running_pushgateway(tmp_path / "pushgateway") as gateway:
        failed = upload_file.main([str(tmp_path / "absent.dump"), "--bucket", "backups",
                                   "--key", "k", "--endpoint-url", s3.url,
                                   "--pushgateway", gateway.url])
        assert failed == 1
        assert values(scrape(f"{gateway.url}/metrics"), BACKUP_LAST_SUCCESS.name) == []
        before = datetime.now(UTC).timestamp()
        assert upload_file.main([str(dump), "--bucket", "backups", "--key", "k",
                                 "--endpoint-url", s3.url, "--pushgateway", gateway.url]) == 0
        after = datetime.now(UTC).timestamp()
        (success,) = values(scrape(f"{gateway.url}/metrics"), BACKUP_LAST_SUCCESS.name,
                            job=BACKUP_JOB)
    assert before <= success <= after
    err = capsys.readouterr().err  # the missing dump's error, and no warning
    assert err.startswith("error: ") and err.count("\n") == 1


def test_a_pushgateway_that_is_down_costs_one_warning_not_the_backup(
        s3: S3Endpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    create_bucket.ensure_bucket("backups", s3.url)
    dump = tmp_path / "mlflow.dump"
    dump.write_bytes(b"PGDMP fake dump")
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLOPS_PUSHGATEWAY_URL", dead)
    assert upload_file.main([str(dump), "--bucket", "backups", "--key", "down.dump",
                             "--endpoint-url", s3.url]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"upload_file: warning: could not push to the Pushgateway at {dead}")
    assert err.count("\n") == 1
