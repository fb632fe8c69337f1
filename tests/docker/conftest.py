"""Fixtures for docker tests: a real Docker engine and the sandbox image, and no leftovers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from executors.docker import DockerConfig, DockerExecutor
from orchestrator.computer import Computer
from tests.support.docker_backend import own_containers, require_docker


@pytest.fixture(autouse=True)
def docker_ready() -> Iterator[None]:
    """Skip without Docker (fail under CI=true); after the test, no container of ours may remain."""
    require_docker()
    yield
    left = own_containers()
    assert not left, f"containers left behind: {[c.short_id for c in left]}"


@pytest.fixture
def make_computer() -> Iterator[Callable[..., Computer]]:
    """Make docker Computers with a given config; all are closed after the test."""
    made: list[Computer] = []

    def make(config: DockerConfig | None = None) -> Computer:
        computer = Computer(DockerExecutor(config or DockerConfig()))
        made.append(computer)
        return computer

    yield make
    for computer in made:
        computer.close()
