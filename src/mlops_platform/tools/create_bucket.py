"""Create the artifact bucket in the object store unless it exists (the store's setup Job).

``python -m mlops_platform.tools.create_bucket --bucket mlflow --endpoint-url http://…:8333``
with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment. Exit 0 when the bucket
exists afterwards (created now or before), 1 with one line saying why not.
"""

from __future__ import annotations

import argparse
import sys

from mlops_platform.tools.s3 import (
    DEFAULT_WAIT_SECONDS,
    ObjectStoreError,
    client_error,
    s3_client,
    when_reachable,
)

ALREADY_THERE = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


def ensure_bucket(bucket: str, endpoint_url: str | None,
                  wait_seconds: float = DEFAULT_WAIT_SECONDS) -> bool:
    """Make sure ``bucket`` exists; True when this call created it."""
    from botocore.exceptions import ClientError

    client = s3_client(endpoint_url)
    try:
        when_reachable(lambda: client.head_bucket(Bucket=bucket), endpoint_url, wait_seconds)
        return False
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise ObjectStoreError(f"cannot read bucket {bucket!r} at {endpoint_url}: "
                                   f"{client_error(err)}") from None
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ALREADY_THERE:
            return False  # another run created it in between
        raise ObjectStoreError(f"cannot create bucket {bucket!r} at {endpoint_url}: "
                               f"{client_error(err)}") from None
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_platform.tools.create_bucket",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--endpoint-url", help="the S3 API's address (unset: AWS S3)")
    parser.add_argument("--wait-seconds", type=float, default=DEFAULT_WAIT_SECONDS,
                        help="how long to wait for the store to answer")
    args = parser.parse_args(argv)
    try:
        created = ensure_bucket(args.bucket, args.endpoint_url, args.wait_seconds)
    except ObjectStoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"bucket {args.bucket} {'created' if created else 'already exists'}"
          f" at {args.endpoint_url or 'AWS S3'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
