#!/bin/sh
# Build the lmc sandbox image without a registry: debootstrap Debian bookworm
# into a folder, trim it, add the non-root user, then `docker import` it.
#
#   build.sh TAG [MIRROR]
#
# Lines starting with "==> " name the step being taken (lmc image build shows them).
set -eu

TAG=${1:?usage: build.sh TAG [MIRROR]}
MIRROR=${2:-http://deb.debian.org/debian}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/lmc-sandbox.XXXXXX")
ROOT="$WORK/rootfs"
trap 'rm -rf "$WORK"' EXIT INT TERM

PACKAGES=$(grep -v '^[[:space:]]*\(#\|$\)' "$HERE/packages.txt" | tr '\n' ' ')

echo "==> debootstrap bookworm (minimal base)"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"

echo "==> apt-get install the packages"
# apt, not debootstrap --include: debootstrap's resolver picks odd providers for virtual
# packages and drags in scipy, sympy and boost headers
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
chroot "$ROOT" apt-get update -q
# shellcheck disable=SC2086  # one word per package
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES
chroot "$ROOT" apt-get clean
: > "$ROOT/etc/resolv.conf"

echo "==> configure the sandbox user"
# uid 1000, no sudo, no password: code runs unprivileged in /workspace
chroot "$ROOT" useradd --uid 1000 --create-home --shell /bin/bash lmc
mkdir -p "$ROOT/workspace"
chroot "$ROOT" chown lmc:lmc /workspace

echo "==> trim caches and docs"
# the image is imported whole: every byte left here is copied on each build
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
       "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* \
       "$ROOT"/var/log/*.log "$ROOT"/tmp/*
# keep every __pycache__: the sandbox user cannot write bytecode, so without it each
# `import pandas` would compile from source (seconds)

echo "==> docker import $TAG"
tar -C "$ROOT" --numeric-owner -c . | docker import \
    --change 'USER 1000:1000' \
    --change 'WORKDIR /workspace' \
    --change 'ENV HOME=/home/lmc LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'LABEL lmc.sandbox.recipe=lmc-sandbox' \
    --change 'CMD ["python3"]' \
    - "$TAG"

echo "==> done: $TAG"
