"""Errors of the executors (languages, the in-sandbox agent and the sandbox backends).

    LMCError (lmc.errors)
    └── ExecutorError                      something about running code went wrong
        ├── UnknownLanguage (ValueError)       the caller named a language nobody registered
        ├── UnknownBackend (ValueError)        the caller named a sandbox backend that does not exist
        ├── WrongBackendConfig (TypeError)     the caller gave a backend another backend's config
        ├── InvalidCode (ValueError)           the code cannot be sent (e.g. contains NUL)
        ├── LanguageLoadError (ImportError)    a registered language plugin failed to import
        ├── AgentError                         the in-sandbox agent broke its protocol or died
        └── SandboxError                       a backend (local process, Docker, E2B) failed
            └── SandboxUnavailable             the backend cannot be reached at all

Failures of the user's code are not exceptions: they come back as LMC console
output and error messages, which are data for the model.
"""

from __future__ import annotations

from collections.abc import Iterable

from lmc.errors import LMCError


class ExecutorError(LMCError):
    """Root of the executor errors."""


class UnknownLanguage(ExecutorError, ValueError):
    """The caller named a language that is not registered in the sandbox."""

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


class SandboxError(ExecutorError):
    """A sandbox backend failed: infrastructure, not the user's code."""


class SandboxUnavailable(SandboxError):
    """The backend cannot be reached (not installed, daemon down, no key)."""


class UnknownBackend(ExecutorError, ValueError):
    """The caller named a sandbox backend that does not exist or is not installed."""


class WrongBackendConfig(ExecutorError, TypeError):
    """The caller gave a backend a config object that is not its own (e.g. docker with a LocalConfig)."""
