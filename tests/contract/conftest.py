"""The executor contract: every test here runs against every sandbox backend.

A backend that cannot run on this machine is skipped with its reason, except
under CI=true, where CI installs every backend and a skip would hide a failure.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator

import pytest

from executors.backends import backend_names
from executors.base import Executor
from executors.local import LocalExecutor
from orchestrator.computer import Computer


def _make(backend: str) -> Executor:
    if backend == "local":
        return LocalExecutor()
    module = importlib.import_module(f"tests.support.{backend}_backend")
    return module.make_executor()  # type: ignore[no-any-return]


@pytest.fixture(params=list(backend_names()))
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    name: str = request.param
    if name != "local":
        try:
            importlib.import_module(f"tests.support.{name}_backend")
        except ModuleNotFoundError as exc:
            if os.environ.get("CI") == "true":
                raise
            pytest.skip(f"{name} backend support not present: {exc}")
    return name


@pytest.fixture
def computer(backend: str) -> Iterator[Computer]:
    """A fresh Computer on the backend under test, closed afterwards."""
    with Computer(_make(backend)) as c:
        yield c
