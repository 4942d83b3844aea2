"""Copy one file into the object store (the database backup Job's second step).

``python -m mlops_platform.tools.upload_file --endpoint-url … --bucket mlflow
--key 'backups/postgres/{timestamp}.dump' /backup/mlflow.dump``; ``{timestamp}`` becomes
the UTC time (20250101T030000Z), so each run writes a new object. Exit 1 with one line
when the file or the store fails.

With ``--pushgateway URL`` (or ``MLOPS_PUSHGATEWAY_URL``) an upload that succeeded pushes
its time to a Prometheus Pushgateway as the backup's last success (job ``postgres-backup``);
a failed upload pushes nothing, so the alert on the backup's age fires. A push that fails is
one line on stderr and the exit status stays 0: the backup is stored.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from mlops_platform.monitoring.catalog import BACKUP_JOB, BACKUP_LAST_SUCCESS
from mlops_platform.monitoring.collectors import (
    PUSHGATEWAY_HELP,
    default_pushgateway,
    push_job_result,
)
from mlops_platform.tools.s3 import (
    DEFAULT_WAIT_SECONDS,
    ObjectStoreError,
    client_error,
    s3_client,
    when_reachable,
)


def object_key(template: str, now: datetime | None = None) -> str:
    return template.replace("{timestamp}", (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ"))


def upload(path: Path, bucket: str, key: str, endpoint_url: str | None,
           wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError

    if not path.is_file():
        raise ObjectStoreError(f"{path} does not exist; nothing to upload")
    client = s3_client(endpoint_url)
    try:
        when_reachable(lambda: client.upload_file(str(path), bucket, key), endpoint_url,
                       wait_seconds)
    except (ClientError, S3UploadFailedError) as err:
        raise ObjectStoreError(f"cannot write s3://{bucket}/{key} at {endpoint_url}: "
                               f"{client_error(err)}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.tools.upload_file",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True, help="object key; {timestamp} is the UTC time")
    parser.add_argument("--endpoint-url", help="the S3 API's address (unset: AWS S3)")
    parser.add_argument("--wait-seconds", type=float, default=DEFAULT_WAIT_SECONDS)
    parser.add_argument("--pushgateway", metavar="URL", default=default_pushgateway(),
                        help=PUSHGATEWAY_HELP)
    args = parser.parse_args(argv)
    key = object_key(args.key)
    try:
        upload(args.file, args.bucket, key, args.endpoint_url, args.wait_seconds)
    except ObjectStoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"uploaded {args.file} to s3://{args.bucket}/{key}")
    if args.pushgateway:
        push_job_result("upload_file", args.pushgateway, BACKUP_JOB,
                        {BACKUP_LAST_SUCCESS: datetime.now(UTC).timestamp()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
