"""Ray's failures as lmc errors: the one place Ray's exceptions are mapped.

    LMCError (lmc.errors)
    ├── OrchestratorError (orchestrator.errors)
    │   └── RayFailure                         Ray could not be started or joined, or lost a call of ours
    │       ├── SessionLost (ConnectionError)      the orchestrator actor hosting a session died or restarted
    │       └── ClusterLost                        the Ray cluster itself is gone (its head, or this node)
    ├── SandboxError (executors.errors)
    │   └── ExecutorActorLost (ConnectionError)    the executor actor holding a sandbox died
    └── DesktopDied (devices.errors)
        └── DeviceActorLost (ConnectionError)      the device actor holding a desktop died (its node lost?)

Every call to one of our actors goes through `mapped(what, then)`: an error of ours raised in
the actor comes back as its own class, and a Ray failure (RayActorError, ActorDiedError,
ActorUnavailableError, GetTimeoutError, ObjectLostError, RaySystemError, ...) becomes one of
the classes above, saying what died and what happens next, never a Ray traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from devices.errors import DesktopDied
from executors.errors import SandboxError
from lmc.errors import LMCError
from orchestrator.errors import OrchestratorError


class RayFailure(OrchestratorError):
    """Ray could not be started or joined, or a call to one of our actors failed inside Ray."""


class SessionLost(RayFailure, ConnectionError):
    """The orchestrator actor hosting the session died (or restarted) and the session's chat with it."""


class ClusterLost(RayFailure):
    """The Ray cluster this process joined is gone: its head stopped answering, or this node's raylet died."""


class ExecutorActorLost(SandboxError, ConnectionError):
    """The executor actor holding the sandbox died, and the sandbox with it (infrastructure, not the code)."""


class DeviceActorLost(DesktopDied, ConnectionError):
    """The device actor holding the session's desktop died, and the desktop with it (infrastructure)."""


def _reason(exc: BaseException) -> str:
    """Ray's own last line (e.g. "The actor is dead because it was killed by `ray.kill`."), for people."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


@contextmanager
def mapped(what: str, then: str, lost: type[LMCError] = RayFailure) -> Iterator[None]:
    """Run Ray calls about `what` (e.g. "the orchestrator actor"); Ray's failures become lmc errors.

    `then` says what happens next ("the next chat starts a new one"); `lost` is the class for
    the actor being gone (dead, restarting, unreachable). An LMCError raised in the actor is
    raised again as itself; any other error raised there is a RayFailure naming it.
    """
    import ray.exceptions as rex

    try:
        yield
    except rex.RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, LMCError):  # Ray wraps it; the caller wants the error itself
            raise cause.with_traceback(None) from None
        raise RayFailure(f"{what} failed: {type(cause).__name__}: {cause}") from None
    # ActorUnschedulableError: a restart had nowhere to go (e.g. pinned to a node that died)
    except (rex.RayActorError, rex.WorkerCrashedError, rex.NodeDiedError, rex.ActorUnschedulableError) as exc:
        raise lost(f"{what} died or cannot be reached ({_reason(exc)}); {then}") from None
    except rex.GetTimeoutError as exc:
        raise lost(f"{what} did not answer in time ({_reason(exc)}); {then}") from None
    except rex.ObjectLostError as exc:
        raise lost(f"a result from {what} was lost ({type(exc).__name__}: {_reason(exc)}); {then}") from None
    except rex.RayError as exc:  # RaySystemError and the rest: Ray itself failed
        raise RayFailure(f"Ray failed while talking to {what} ({type(exc).__name__}: {_reason(exc)}); "
                         f"{then}") from None
