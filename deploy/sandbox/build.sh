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

PACKAGES=$(grep -v '^[[:space:]]*\(#\|$\)' "$HERE/packages.txt" | tr '\n' ',' | sed 's/,$//')

echo "==> debootstrap bookworm (download and unpack)"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOT" "$MIRROR"

echo "==> configure the sandbox user"
# uid 1000, no sudo, no password: code runs unprivileged in /workspace
chroot "$ROOT" useradd --uid 1000 --create-home --shell /bin/bash lmc
mkdir -p "$ROOT/workspace" "$ROOT/opt/lmc"
chroot "$ROOT" chown lmc:lmc /workspace

echo "==> trim caches and docs"
# the image is imported whole: every byte left here is copied on each build
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
       "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* \
       "$ROOT"/var/log/*.log "$ROOT"/tmp/*
find "$ROOT/usr/lib/python3" -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true

echo "==> docker import $TAG"
tar -C "$ROOT" --numeric-owner -c . | docker import \
    --change 'USER 1000:1000' \
    --change 'WORKDIR /workspace' \
    --change 'ENV HOME=/home/lmc LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'LABEL lmc.sandbox.recipe=lmc-sandbox' \
    --change 'CMD ["python3"]' \
    - "$TAG"

echo "==> done: $TAG"
