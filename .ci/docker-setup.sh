#!/usr/bin/env bash
# Make docker sandboxes runnable here, idempotently: install Debian's docker.io
# and debootstrap when missing, start dockerd when `docker info` fails (and wait
# until it answers), then build the sandbox image unless the image of the
# current recipe (tagged by its hash) is already present.
#
#   .ci/docker-setup.sh        (as root; .ci/run calls it before the tests)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v docker >/dev/null || need+=(docker.io)
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
    echo "docker-setup: installing ${need[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if ! docker info >/dev/null 2>&1; then
    echo "docker-setup: starting dockerd (log: /tmp/dockerd.log)"
    nohup dockerd >/tmp/dockerd.log 2>&1 &
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { echo "docker-setup: dockerd did not start; see /tmp/dockerd.log" >&2; exit 1; }
fi

# builds only when the recipe's hash has no image yet (about 2-4 minutes, once)
python3 -m orchestrator.cli.image image build
python3 -m orchestrator.cli.image image status
