"""Errors of the Fleet, and the one place that sorts a session's failure into a class.

    LMCError (lmc.errors)
    └── OrchestratorError (orchestrator.errors)
        └── FleetError
            ├── FleetConfigError (ValueError)       a FleetConfig / Budget / SessionSpec is wrong
            ├── SessionSetupFailed (RuntimeError)   preparing a session's sandbox failed: infrastructure
            ├── EnvironmentFailed (RuntimeError)    the task's environment could not be built: not retried
            └── VerifierFailed (RuntimeError)       evaluating a session failed: the task's fault

Failure classes (SessionResult.failure):

    None         the session ran to its end; its evaluation says how well the model did
    "budget"     the model used up its steps, tokens, cost or wall time (the model's failure)
    "stuck"      the model kept repeating itself after being told once (the model's failure)
    "environment" the task's environment image could not be built or found: not retried
    "infra"      sandbox lost from outside, setup failed, X server crashed: never the model's; retried
                 (code that kills its own sandbox's agent is the model's: executors/agent_loss.py)
    "model_api"  the model's API kept failing (unreachable, rate limited): retried
    "config"     missing key (model or sandbox), unknown model, bad settings: retrying cannot help
    "verifier"   the evaluation itself broke (e.g. no reward written): the task's fault
    "error"      an unexpected exception: a bug somewhere, reported with its type
"""

from __future__ import annotations

from orchestrator.errors import (
    MissingAPIKey,
    ModelAuthError,
    ModelError,
    OrchestratorError,
    SettingsError,
    UnknownModel,
)

#: failure classes the Fleet retries
RETRIED = ("infra", "model_api")
#: every failure class, in report order
FAILURES = ("budget", "stuck", "environment", "infra", "model_api", "config", "verifier", "error")
#: failure classes that mean the trial errored (it was not graded): never a score of 0
ERRORED = ("environment", "infra", "model_api", "config", "verifier", "error")


class FleetError(OrchestratorError):
    """Root of the Fleet's errors."""


class FleetConfigError(FleetError, ValueError):
    """A FleetConfig, Budget or SessionSpec has a wrong value."""


class SessionSetupFailed(FleetError, RuntimeError):
    """A session's sandbox or desktop could not be prepared (infrastructure)."""


class EnvironmentFailed(FleetError, RuntimeError):
    """A session's environment (a task's image) could not be built or found; retrying cannot help."""


class VerifierFailed(FleetError, RuntimeError):
    """A session's evaluation broke; the task (not the model, not the sandbox) is at fault."""


def classify(exc: BaseException) -> str:
    """The failure class of an exception raised while a session ran."""
    # imported here: executors and devices stay unloaded until a session really runs
    from devices.errors import DeviceError
    from executors.errors import AgentError, SandboxError, SandboxUnavailable

    if isinstance(exc, VerifierFailed):
        return "verifier"
    if isinstance(exc, EnvironmentFailed):
        return "environment"
    if isinstance(exc, (MissingAPIKey, ModelAuthError, UnknownModel, SettingsError, FleetConfigError)):
        return "config"
    if isinstance(exc, ModelError):
        return "model_api"
    if isinstance(exc, SandboxUnavailable) and not exc.retryable:
        return "config"  # a missing or rejected sandbox credential (E2B key): a retry repeats it
    if isinstance(exc, (SessionSetupFailed, SandboxError, AgentError, OSError)):
        return "infra"
    if isinstance(exc, DeviceError) and exc.kind == "sandbox":
        return "infra"
    return "error"
