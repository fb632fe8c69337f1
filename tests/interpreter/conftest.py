"""Fixtures for interpreter tests: a scripted model server and model configs pointing at it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.scripted_server import ScriptedServer

# Set before litellm is first imported anywhere in the test session: no network for the price map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """An empty scripted server; tests add replies with server.add(...)."""
    with ScriptedServer() as srv:
        yield srv
