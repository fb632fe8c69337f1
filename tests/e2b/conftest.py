"""Fixtures for the E2B backend tests: a fresh E2B emulator per test, executors on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from executors.e2b.emulator import E2BServer
from executors.e2b.executor import E2BExecutor
from tests.support.e2b_backend import config

MakeExecutor = Callable[..., E2BExecutor]


@pytest.fixture
def server() -> Iterator[E2BServer]:
    """A local E2B protocol server of its own, so scripted faults stay in one test."""
    srv = E2BServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def make(server: E2BServer) -> Iterator[MakeExecutor]:
    """Build E2BExecutors on the test's server (E2BConfig overrides as keywords); closed afterwards."""
    made: list[E2BExecutor] = []

    def build(**overrides: object) -> E2BExecutor:
        executor = E2BExecutor(config(server, **overrides))
        made.append(executor)
        return executor

    yield build
    for executor in made:
        executor.close()
