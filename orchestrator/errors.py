"""Errors of the orchestrator: settings, the model, the embedded model, conversations, sessions.

    LMCError (lmc.errors)
    └── OrchestratorError
        ├── SettingsError (ValueError)            a setting or config file is wrong (caller's mistake)
        ├── ModelError                            the model's API failed (a backend, not the code)
        │   ├── MissingAPIKey (PermissionError)       no key for the provider; names env var and flag
        │   ├── ModelAuthError (PermissionError)      the provider refused the key
        │   ├── UnknownModel (ValueError)             litellm cannot tell which provider serves it
        │   ├── ModelUnavailable (ConnectionError)    unreachable or failing after every retry
        │   ├── RateLimited (ModelUnavailable)        still rate limited after every retry
        │   ├── ModelRequestRefused (PermissionError) LMC_ALLOW_MODEL_REQUESTS=0 and the server is not local
        │   └── ContextOverflow                       the prompt exceeds the window even trimmed
        ├── LocalModelError (RuntimeError)        the embedded model could not be found or started
        ├── ConversationNotFound (LookupError)    no saved conversation has that id
        ├── SessionNotFound (LookupError)         an orchestrator actor hosts no such session
        └── SessionBusy (RuntimeError)            a second chat was started while one is running

Failures that are data for the model (its code raised, its tool call was
malformed) are not exceptions: they go back to it as console output or a note.
"""

from __future__ import annotations

from lmc.errors import LMCError


class OrchestratorError(LMCError):
    """Root of the orchestrator's errors."""


class SettingsError(OrchestratorError, ValueError):
    """A setting has a wrong value or the config file cannot be read."""


class ModelError(OrchestratorError):
    """The model's API failed; `model` names the model that was asked."""

    def __init__(self, message: str, *, model: str = "") -> None:
        self.model = model
        super().__init__(message)


class MissingAPIKey(ModelError, PermissionError):
    """No API key for the model's provider."""


class ModelAuthError(ModelError, PermissionError):
    """The provider refused the API key."""


class UnknownModel(ModelError, ValueError):
    """litellm cannot tell which provider serves this model name."""


class ModelUnavailable(ModelError, ConnectionError):
    """The model's server was unreachable or kept failing after every retry."""


class RateLimited(ModelUnavailable):
    """The provider kept rate limiting after every retry."""


class ModelRequestRefused(ModelError, PermissionError):
    """Real model requests are turned off (LMC_ALLOW_MODEL_REQUESTS=0) and the server is not on this machine."""


class ContextOverflow(ModelError):
    """The prompt does not fit the model's window even after trimming."""


class LocalModelError(OrchestratorError, RuntimeError):
    """The embedded local model could not be found or started."""


class ConversationNotFound(OrchestratorError, LookupError):
    """No saved conversation has the requested id."""


class SessionNotFound(OrchestratorError, LookupError):
    """The orchestrator actor hosts no session with that id."""


class SessionBusy(OrchestratorError, RuntimeError):
    """A session got a second chat while its first is still running."""
