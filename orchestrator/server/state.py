"""What the app holds while it runs: its config, tokens, default settings and live registries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection

from orchestrator.server.config import ServerConfig
from orchestrator.server.desktop import Desktops
from orchestrator.server.registry import Registry
from orchestrator.server.tokens import Tokens
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from orchestrator.computer import Computer
    from orchestrator.server.conversation import Conversation


@dataclass
class ServerState:
    """The live state of one app."""

    config: ServerConfig
    tokens: Tokens
    settings: Settings
    """The defaults of new conversations (config file, LMC_* environment)."""
    computers: Registry[Computer] = field(default_factory=lambda: Registry("computer"))
    conversations: Registry[Conversation] = field(default_factory=lambda: Registry("conversation"))
    desktops: Desktops = field(default_factory=Desktops)
    """The virtual desktops of computers and conversations created with `"desktop": true`."""


def state(connection: HTTPConnection) -> ServerState:
    """The state of the app serving a request."""
    found: Any = connection.app.state.lmc
    assert isinstance(found, ServerState)
    return found
