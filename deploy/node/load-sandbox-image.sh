#!/bin/sh
# Make the sandbox image available to this node's Docker daemon under the tag lmc expects
# (lmc-sandbox:<recipe hash>): pull LMC_SANDBOX_IMAGE from your registry, or build it offline.
# Run at pod start (KubeRay postStart) or by hand; waits up to 60 s for a dind sidecar's daemon.
set -eu
i=0
until docker info >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -le 60 ] || { echo "no Docker daemon at ${DOCKER_HOST:-the local socket}" >&2; exit 1; }
  sleep 1
done
WANT=$(python3 -c 'from executors.docker.image import default_tag; print(default_tag())')
if [ -n "${LMC_SANDBOX_IMAGE:-}" ]; then
  docker pull "$LMC_SANDBOX_IMAGE"
  docker tag "$LMC_SANDBOX_IMAGE" "$WANT"
  docker tag "$LMC_SANDBOX_IMAGE" lmc-sandbox:latest
else
  lmc image build
fi
echo "sandbox image ready: $WANT"
