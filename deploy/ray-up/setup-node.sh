#!/bin/sh
# Prepare one cluster node for lmc (run by `ray up` on every node, as its setup command):
# Docker and debootstrap from Debian, lmc from the checkout `ray up` copied to /opt/lmc,
# then the sandbox image built offline (debootstrap + docker import; no registry).
#   setup-node.sh [EXTRAS]        EXTRAS defaults to ray,docker,model
set -eu
EXTRAS=${1:-ray,docker,model}

echo "==> Debian packages: docker.io debootstrap python3-pip"
sudo DEBIAN_FRONTEND=noninteractive apt-get update -q
sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap python3-pip python3-venv
sudo systemctl enable --now docker 2>/dev/null || sudo service docker start
# the Ray user runs sandboxes: it needs the Docker socket
sudo usermod -aG docker "$(id -un)" || true

echo "==> lmc [$EXTRAS] into /opt/lmc-venv"
sudo python3 -m venv /opt/lmc-venv
sudo /opt/lmc-venv/bin/pip install -q "/opt/lmc[$EXTRAS]"
sudo ln -sf /opt/lmc-venv/bin/lmc /opt/lmc-venv/bin/ray /usr/local/bin/

echo "==> the sandbox image (built once per recipe; reused after)"
sudo /opt/lmc-venv/bin/lmc image build
