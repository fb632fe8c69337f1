"""Fixtures for interpreter tests: a scripted model server, a real Computer, settings joining them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.models.scripted_server import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """An empty scripted server; tests add replies with server.add(...)."""
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def computer() -> Iterator[Any]:
    """A real Computer running code in local processes."""
    from orchestrator.computer import Computer

    with Computer(sandbox="local") as c:
        yield c


@pytest.fixture
def make_settings(server: ScriptedServer, tmp_path: Path) -> Callable[..., Any]:
    """Settings for the scripted model (tools mode, auto-run) with a private data dir; kwargs override."""
    from orchestrator.settings import resolve

    def make(**overrides: Any) -> Any:
        values: dict[str, Any] = dict(
            model="openai/scripted",
            api_base=server.url,
            api_key="sk-test",
            mode="tools",
            auto_run=True,
            data_dir=tmp_path,
            retry_delay=0.01,
        )
        values.update(overrides)
        return resolve(values, env={}, config_file=tmp_path / "no-config.toml")

    return make
