"""Errors of the executors (languages, the in-sandbox agent and the sandbox backends).

    LMCError (lmc.errors)
    └── ExecutorError                      something about running code went wrong
        ├── UnknownLanguage (ValueError)       the caller named a language nobody registered
        ├── UnknownBackend (ValueError)        the caller named a sandbox backend that does not exist
        ├── WrongBackendConfig (TypeError)     the caller gave a backend another backend's config
        ├── InvalidCode (ValueError)           the code cannot be sent (e.g. contains NUL)
        ├── LanguageLoadError (ImportError)    a registered language plugin failed to import
        ├── AgentError                         the in-sandbox agent broke its protocol or died
        │   └── AgentExited                        its output ended: it exited or was killed
        └── SandboxError                       a backend (local process, Docker, E2B) failed
            └── SandboxUnavailable             the backend cannot be reached at all

Failures of the user's code are not exceptions: they come back as LMC console
output and error messages, which are data for the model.

Errors cross process boundaries (agent -> host, executor actor -> client) as a
`WireError` (kind, message, fields): `to_wire` makes one, `from_wire` raises it
again as the same class, looked up in one closed registry (`REGISTRY_MODULES`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from lmc.errors import LMCError

if TYPE_CHECKING:  # the protocol (and what it loads) is imported when an error travels, not by `lmc --help`
    from executors.sandbox.protocol import WireError

#: the modules whose LMCError classes may cross a process boundary, and only those
REGISTRY_MODULES = (
    "lmc.errors", "executors.errors", "executors.docker.errors", "executors.e2b.errors",
    "executors.runtime.errors",
)


class ExecutorError(LMCError):
    """Root of the executor errors."""

    #: attributes that travel with the error and are set again when it is rebuilt
    wire_fields: ClassVar[tuple[str, ...]] = ()


class UnknownLanguage(ExecutorError, ValueError):
    """The caller named a language that is not registered in the sandbox."""

    wire_fields = ("name", "known")

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown language {name!r}; known: {', '.join(self.known)}")


class InvalidCode(ExecutorError, ValueError):
    """The code cannot be run as given; the message says how to fix it."""


class LanguageLoadError(ExecutorError, ImportError):
    """A language plugin named in the `lmc.languages` entry-point group failed to load."""


class AgentError(ExecutorError):
    """The in-sandbox agent broke its protocol or died."""


class AgentExited(AgentError):
    """The agent's output ended: it exited or was killed (by the code it ran, or from outside)."""


class SandboxError(ExecutorError):
    """A sandbox backend failed: infrastructure, not the user's code."""


class SandboxUnavailable(SandboxError):
    """The backend cannot be reached (not installed, daemon down, no key)."""

    #: whether trying again can help; False for a missing or rejected credential, which a
    #: retry only repeats (the fleet counts those as "config", not infrastructure)
    retryable: bool = True


class UnknownBackend(ExecutorError, ValueError):
    """The caller named a sandbox backend that does not exist or is not installed."""


class WrongBackendConfig(ExecutorError, TypeError):
    """The caller gave a backend a config object that is not its own (e.g. docker with a LocalConfig)."""


@functools.cache
def registry() -> dict[str, type[LMCError]]:
    """Kind -> class of every error that may cross a process boundary (imported on first use)."""
    import importlib

    found: dict[str, type[LMCError]] = {}
    for name in REGISTRY_MODULES:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, LMCError) and cls.__module__ == name:
                found[cls.__name__] = cls
    return found


def to_wire(exc: BaseException) -> WireError:
    """An error as data, with the fields its class keeps (see `wire_fields`)."""
    from executors.sandbox.protocol import WireError

    names = exc.wire_fields if isinstance(exc, ExecutorError) else ()
    return WireError(type(exc).__name__, str(exc), {name: getattr(exc, name) for name in names})


def from_wire(error: WireError) -> LMCError:
    """The error a WireError describes, as its own class; an unknown kind becomes an ExecutorError.

    The instance is made without calling the class's constructor (they take different
    arguments), then given the message and its fields, so `str()` is what it was.
    """
    cls = registry().get(error.kind)
    if cls is None:
        return ExecutorError(f"{error.kind}: {error.message}")
    exc: Any = cls.__new__(cls)
    Exception.__init__(exc, error.message)
    kept = cls.wire_fields if issubclass(cls, ExecutorError) else ()
    for name in kept:  # only the fields the class keeps: the rest came from an untrusted peer
        if name in error.fields:
            setattr(exc, name, error.fields[name])
    return exc  # type: ignore[no-any-return]


def no_screen(path: str) -> str:
    """What code that called computer.<path> is told when its session has no screen."""
    return (f"computer.{path} needs a screen, and this session has none: start it with devices "
            "(lmc --os, or Computer(devices=devices.Devices(':0')))")
