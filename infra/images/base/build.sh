#!/usr/bin/env bash
# Build the local base image for every platform image: a minimal Debian bookworm rootfs
# with Python 3.11, imported into podman. No registry is reachable here, so this stands
# in for python:3.11-slim (what the release workflow passes as BASE_IMAGE, by digest).
# An imported rootfs has no environment: each Containerfile sets ENV PATH first.
# Usage: build.sh [image]   (skips the build when the image exists; needs root)
set -euo pipefail

image="${1:-localhost/mlops-platform/base:bookworm}"
podman="${PODMAN:-podman}"

if "$podman" image exists "$image"; then
    echo "$image exists; not rebuilding"
    exit 0
fi

rootfs="$(mktemp -d /tmp/mlops-base-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs"
# Package lists and caches only make the image larger; apt-get update refills them.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
tar -C "$rootfs" -c . | "$podman" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    - "$image"
