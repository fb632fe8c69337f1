#!/bin/sh
# Build the lmc node image (Debian bookworm, Docker CLI, Xvfb, lmc + Ray in /opt/lmc-venv)
# without a registry: debootstrap into a folder, install lmc from a wheelhouse, `docker import`.
#
#   build.sh [TAG] [WHEELHOUSE] [MIRROR]
#
# TAG defaults to lmc-node:<hash of this recipe and the lmc wheel>. WHEELHOUSE is a folder
# of wheels holding lmc's and its dependencies' (for CPython 3.11, manylinux x86_64); without
# one it is made from this checkout with pip (pip's registry or cache must then be reachable;
# a second build reuses it from ${LMC_WHEELHOUSE:-/var/tmp/lmc-node-wheels}).
# Lines starting with "==> " name the step being taken. Needs root, debootstrap and Docker.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WHEELS=${2:-${LMC_WHEELHOUSE:-/var/tmp/lmc-node-wheels}}
MIRROR=${3:-http://deb.debian.org/debian}
EXTRAS=ray,docker,model

echo "==> wheelhouse $WHEELS"
mkdir -p "$WHEELS"
rm -f "$WHEELS"/lmc-*.whl
python3 -m pip wheel -q --no-deps -w "$WHEELS" "$REPO"
LMC_WHEEL=$(ls "$WHEELS"/lmc-*.whl)
python3 -m pip download -q -d "$WHEELS" --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --platform any \
    "lmc[$EXTRAS] @ file://$LMC_WHEEL"

HASH=$(cat "$HERE/build.sh" "$HERE/packages.txt" "$HERE/load-sandbox-image.sh" "$LMC_WHEEL" \
       | sha256sum | cut -c1-12)
TAG=${1:-lmc-node:$HASH}
if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "==> done: $TAG (already built)"
  exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/lmc-node.XXXXXX")
ROOT="$WORK/rootfs"
trap 'rm -rf "$WORK"' EXIT INT TERM
PACKAGES=$(grep -v '^[[:space:]]*\(#\|$\)' "$HERE/packages.txt" | tr '\n' ' ')

echo "==> debootstrap bookworm (minimal base)"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"

echo "==> apt-get install the packages"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
chroot "$ROOT" apt-get update -q
# shellcheck disable=SC2086  # one word per package
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES
chroot "$ROOT" apt-get clean
: > "$ROOT/etc/resolv.conf"

echo "==> lmc[$EXTRAS] from the wheelhouse (no index)"
mkdir -p "$ROOT/tmp/wheels" "$ROOT/opt/lmc-node"
cp "$WHEELS"/*.whl "$ROOT/tmp/wheels/"
chroot "$ROOT" python3 -m venv /opt/lmc-venv
chroot "$ROOT" /opt/lmc-venv/bin/pip install -q --no-index --find-links /tmp/wheels \
    "lmc[$EXTRAS] @ file:///tmp/wheels/$(basename "$LMC_WHEEL")"
cp "$HERE/load-sandbox-image.sh" "$ROOT/opt/lmc-node/"
chroot "$ROOT" useradd --uid 1000 --create-home --shell /bin/bash ray

echo "==> trim caches and docs"
rm -rf "$ROOT"/tmp/wheels "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
       "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/root/.cache

echo "==> docker import $TAG"
tar -C "$ROOT" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/opt/lmc-venv/bin:/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 RAY_AUTH_MODE=disabled' \
    --change 'ENV LITELLM_LOCAL_MODEL_COST_MAP=True' \
    --change 'ENTRYPOINT ["/usr/bin/tini", "--"]' \
    --change 'CMD ["ray", "start", "--head", "--block"]' \
    --change 'LABEL lmc.node.recipe=lmc-node' \
    - "$TAG"

echo "==> done: $TAG"
