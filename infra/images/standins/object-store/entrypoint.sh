#!/bin/sh
# Entrypoint of the object store stand-in: what a pod passes to SeaweedFS (`weed server -s3
# ...`, `s3 ...`) starts moto's S3 server on SeaweedFS's S3 port instead.
set -eu
case "${1:-}" in
    ""|weed|server|s3|mini|filer|master|volume)
        [ "$#" -eq 0 ] || echo "object store stand-in: ignoring SeaweedFS arguments: $*" >&2
        exec moto_server --host 0.0.0.0 --port 8333 ;;
    *)
        exec "$@" ;;
esac
