"""The executor interface: what the Computer needs of a sandbox backend.

A backend (local process, Docker container, E2B sandbox) provides a
`Transport` to a running in-sandbox agent; the `AgentClient` it holds
(executors/channel.py) does the rest (the request/reply protocol, restarts
after a crash, stop). A backend module is therefore small: a config dataclass
and a `connect()`. Capabilities only some backends have are small protocols
(`SupportsFiles`, `SupportsDetach`), checked with isinstance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from executors.sandbox.languages.base import RunLimits
from lmc.messages import Chunk

#: answers a computer.* call made by sandboxed code: (path, args, kwargs) -> msgpack-ready result
#: (an image result is an LMC image Message); raises an LMCError whose message goes back to the code
CallHandler = Callable[[str, list[Any], dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class LanguageInfo:
    """A language the sandbox offers."""

    name: str  #: canonical name, e.g. "python"
    aliases: tuple[str, ...] = ()  #: other names that select it, e.g. ("py",)


class Transport(ABC):
    """A byte channel to one running agent, carrying whole frames."""

    @abstractmethod
    def send(self, payload: bytes) -> None:
        """Send one frame payload (the transport frames it)."""

    @abstractmethod
    def recv(self) -> bytes | None:
        """The next frame payload, blocking; None when the agent's output ended."""

    @abstractmethod
    def close(self) -> None:
        """Tear the agent down and free its resources."""

    def describe_exit(self) -> str:
        """Why the agent went away, for error messages (e.g. "exited with status 1")."""
        return "ended unexpectedly"

    def outside_cause(self, since: float) -> str | None:
        """What outside the code ended the agent since `since` (a time.time()); None if nothing did.

        The code runs as the agent's user and can kill it (`kill -9 -1`); None says the sandbox
        outlived its agent untouched, so the code did (executors/agent_loss.py). A backend that
        cannot tell names that, and the loss counts as infrastructure.
        """
        return f"the {type(self).__name__} cannot tell whether the sandbox is intact"

    def abort(self) -> None:
        """End an unresponsive sandbox now, from any thread: a `recv` blocked on it returns or raises OSError."""
        self.close()


class Executor(ABC):
    """Runs code in one sandbox. Thread-safe `stop()`; one `run()` at a time."""

    #: name of the backend, e.g. "local"
    backend: str = ""
    #: answers computer.* calls from code in the sandbox; None when the session has no screen
    call_handler: CallHandler | None = None

    @abstractmethod
    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Run code in a language (canonical name), streaming computer chunks."""

    @abstractmethod
    def stop(self) -> None:
        """Interrupt the running code, if any; the language keeps its state."""

    @abstractmethod
    def languages(self) -> list[LanguageInfo]:
        """The languages this sandbox offers."""

    @abstractmethod
    def close(self) -> None:
        """Free the sandbox. Further runs start a new one."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@runtime_checkable
class SupportsFiles(Protocol):
    """An executor that copies files into and out of its sandbox (e.g. docker)."""

    @property
    def files(self) -> Any:
        """The sandbox's files: upload, download, read, write."""
        ...


@runtime_checkable
class SupportsDetach(Protocol):
    """An executor whose sandbox can outlive it (e.g. e2b): detach() leaves it running."""

    def detach(self) -> str | None:
        """Let go of the sandbox without ending it; its id, to reconnect later."""
        ...
