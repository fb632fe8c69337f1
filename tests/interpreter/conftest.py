"""Fixtures for interpreter tests: a scripted model server, a real Computer, settings joining them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.models.scripted_server import ScriptedServer

# Set before litellm is first imported anywhere in the test session: no network for the price map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# No test may reach a paid API: model requests go only to servers on 127.0.0.1 (inherited by the
# subprocesses and Ray workers the tests start).
os.environ["LMC_ALLOW_MODEL_REQUESTS"] = "0"


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
