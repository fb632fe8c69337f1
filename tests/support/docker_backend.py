"""The docker backend for the contract suite: `make_executor()`, or a skip with its reason.

Skips when Docker or the sandbox image is unavailable, except under CI=true,
where CI provides both and a skip would hide a failure: there it fails loudly.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from executors.docker.executor import DockerConfig, DockerExecutor
from executors.errors import SandboxUnavailable


def unavailable() -> str | None:
    """Why docker sandboxes cannot run here, or None when they can."""
    from executors.docker import client as docker_client
    from executors.docker import image as docker_image

    try:
        docker_client.client()
        state = docker_image.status()
    except SandboxUnavailable as exc:
        return str(exc)
    if not state.present:
        return f"sandbox image {state.tag} not built; build it with `sudo lmc image build`"
    return None


def require_docker() -> None:
    """Skip the calling test when docker sandboxes cannot run (fail instead under CI=true)."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the docker backend is unavailable: {reason}")
    pytest.skip(reason)


def make_executor(config: DockerConfig | None = None) -> DockerExecutor:
    """A DockerExecutor with the safe defaults, after checking docker sandboxes can run."""
    require_docker()
    return DockerExecutor(config or DockerConfig())


def own_containers() -> list[Any]:
    """Containers (running or not) labelled as owned by this process.

    sparse: from the one list call, with no inspect per container, which raised NotFound for a
    container whose removal (a pool's background close) finished between the list and the inspect.
    """
    from executors.docker import client as docker_client

    return docker_client.client().containers.list(  # type: ignore[no-any-return]
        all=True, sparse=True, filters={"label": f"{docker_client.OWNER_LABEL}={docker_client.owner_id()}"}
    )
