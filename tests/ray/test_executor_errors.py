"""Errors raised in the executor actor reach the client as their own class, on real Ray.

A backend failure must stay a backend failure across the actor boundary: the
CLI exits 3 for it (not 2, a usage error) and the Fleet retries it as infra.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from executors.e2b.emulator import E2BServer
from executors.e2b.errors import E2BAuthError
from executors.errors import InvalidCode, SandboxError
from orchestrator.cli import EXIT_BACKEND, EXIT_USAGE, exit_code
from orchestrator.computer import Computer
from orchestrator.fleet.errors import classify
from orchestrator.ray.executor_actor import RayExecutor
from tests.support.e2b_backend import config


@pytest.fixture
def e2b_server() -> Iterator[E2BServer]:
    srv = E2BServer().start()
    yield srv
    srv.stop()


def test_a_backend_error_in_the_actor_keeps_its_class(ray_session: Any, e2b_server: E2BServer) -> None:
    executor = RayExecutor("e2b", config(e2b_server, api_key="e2b_wrong"))
    try:
        with pytest.raises(SandboxError) as info:
            list(executor.run("python", "print(1)"))
    finally:
        executor.close()
    assert type(info.value) is E2BAuthError
    assert "rejected the API key; check E2B_API_KEY" in str(info.value)
    assert exit_code(info.value) == EXIT_BACKEND
    assert classify(info.value) == "config"  # a rejected key is the same on every try: not retried


def test_code_with_a_nul_is_the_callers_error_through_the_actor(ray_session: Any) -> None:
    executor = RayExecutor("local")
    try:
        with pytest.raises(InvalidCode, match="NUL character; remove it"):
            list(executor.run("python", "print(1)\0"))
        with Computer(executor) as computer:  # the sandbox is unharmed
            assert [m.content for m in computer.run("python", "print(2)")] == ["2\n"]
    except BaseException:
        executor.close()
        raise
    assert exit_code(InvalidCode("x")) == EXIT_USAGE


def test_a_docker_error_in_the_actor_keeps_its_class_and_message(ray_session: Any) -> None:
    from executors.docker.errors import ImageMissing
    from executors.docker.executor import DockerConfig

    with Computer(RayExecutor("docker", DockerConfig(image="lmc-no-such-image:missing"))) as computer:
        with pytest.raises(SandboxError) as info:
            computer.run("python", "print(1)")
    assert type(info.value) is ImageMissing
    assert str(info.value).startswith("cannot start a sandbox from image 'lmc-no-such-image:missing'")
    assert str(info.value).endswith("build it with `lmc image build`")  # no Ray traceback around it
    assert exit_code(info.value) == EXIT_BACKEND
    assert classify(info.value) == "infra"
