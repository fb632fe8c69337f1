"""What the app holds while it runs: its config, tokens, default settings, live registries, and where
new computers and conversations are made (this process, or the Ray cluster: server/cluster.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import HTTPConnection

from orchestrator.server.config import ServerConfig
from orchestrator.server.desktop import Desktops
from orchestrator.server.registry import Registry
from orchestrator.server.tokens import Tokens
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from orchestrator.computer import Computer
    from orchestrator.server.conversation import Chat


class Hosting(Protocol):
    """Where the server's computers and conversations live."""

    def computer(self, backend: str, config: Any) -> Computer:
        """A new computer of a backend, from its config."""

    def conversation(self, settings: Settings) -> Chat:
        """A new conversation with these settings."""

    def desktop_computer(self, backend: str, config: Any) -> Computer:
        """A new computer on a desktop of its own (`"desktop": true`); Busy when no desktop is free."""

    def desktop_conversation(self, settings: Settings) -> Chat:
        """A new conversation in OS mode on a desktop of its own; Busy when no desktop is free."""


class InProcess:
    """Computers and conversations in this process (the default: one `lmc serve`), desktops among `desktops`."""

    def __init__(self, desktops: Desktops | None = None) -> None:
        self.desktops = desktops if desktops is not None else Desktops()

    def computer(self, backend: str, config: Any) -> Computer:
        """A Computer whose sandbox this process owns."""
        from orchestrator.computer import Computer

        return Computer(config.create())

    def conversation(self, settings: Settings) -> Chat:
        """An Interpreter run on this process's threads."""
        from orchestrator.server.conversation import Conversation
        from orchestrator.session.interpreter import Interpreter

        return Conversation(Interpreter(settings))

    def desktop_computer(self, backend: str, config: Any) -> Computer:
        """A Computer on a new desktop of this process."""
        from orchestrator.server.desktop import desktop_computer

        computer: Computer = desktop_computer(self.desktops, config)
        return computer

    def desktop_conversation(self, settings: Settings) -> Chat:
        """An OS-mode Interpreter on a new desktop of this process."""
        from orchestrator.server.conversation import Conversation
        from orchestrator.server.desktop import desktop_interpreter

        return Conversation(desktop_interpreter(self.desktops, settings))


@dataclass
class ServerState:
    """The live state of one app."""

    config: ServerConfig
    tokens: Tokens
    settings: Settings
    """The defaults of new conversations (config file, LMC_* environment)."""
    computers: Registry[Computer] = field(default_factory=lambda: Registry("computer"))
    conversations: Registry[Chat] = field(default_factory=lambda: Registry("conversation"))
    hosting: Hosting = field(default_factory=InProcess)
    tick: Callable[[], None] | None = None
    """Called on a thread every reaper round (a Ray replica's heartbeat), if given."""


def state(connection: HTTPConnection) -> ServerState:
    """The state of the app serving a request."""
    found: Any = connection.app.state.lmc
    assert isinstance(found, ServerState)
    return found
