"""Copy one file into the object store (the database backup Job's second step).

``python -m mlops_platform.tools.upload_file --endpoint-url … --bucket mlflow
--key 'backups/postgres/{timestamp}.dump' /backup/mlflow.dump``; ``{timestamp}`` becomes
the UTC time (20250101T030000Z), so each run writes a new object. Exit 1 with one line
when the file or the store fails.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

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
    args = parser.parse_args(argv)
    key = object_key(args.key)
    try:
        upload(args.file, args.bucket, key, args.endpoint_url, args.wait_seconds)
    except ObjectStoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"uploaded {args.file} to s3://{args.bucket}/{key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
