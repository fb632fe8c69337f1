"""Whose failure it is when a sandbox's agent dies while it runs code: the code's or the infrastructure's.

The code runs as the agent's user, so it can kill the agent (`kill -9 -1`, killing its parent).
Evidence from outside decides, never the code's text: the transport says whether anything
outside the code touched the sandbox (`Transport.outside_cause`: the container removed or
killed, out of memory, the daemon or the E2B sandbox gone). Nothing did: the code ended its own
sandbox, a `crashed` error that is data for the model, as a language process that died is.
Something did: a `sandbox` error, infrastructure, which a fleet retries.
"""

from __future__ import annotations

import logging

from executors.base import Transport
from executors.errors import AgentExited
from executors.sandbox.languages.base import error_chunk
from lmc.messages import Chunk

log = logging.getLogger(__name__)

#: what was lost with the agent, the same whoever ended it
LOST = ("all state (variables, files outside the workspace, working directory) was lost and a fresh "
        "sandbox starts on the next run")


def agent_lost(backend: str, transport: Transport, exc: BaseException, since: float) -> Chunk:
    """The error chunk for an agent lost (`exc`) while running code started at `since` (time.time()).

    Only an agent that ended (its output closed, or a write to it failed) can have been ended
    by the code; one that broke the protocol, or that the host dropped at its deadline, is a
    `sandbox` error whoever made it do so.
    """
    if not isinstance(exc, (AgentExited, OSError)):
        # a malformed or out-of-turn frame, or no answer by the host's deadline: the host dropped it
        return error_chunk("sandbox", f"the {backend} sandbox was dropped while running the code: {exc}; {LOST}")
    cause = _outside_cause(transport, since)
    if cause is None:
        log.info("%s agent ended by the code it ran: %s", backend, exc)
        return error_chunk("crashed", (
            f"the {backend} sandbox's agent was killed by the code it ran (nothing outside the sandbox "
            f"touched it: e.g. `kill -9 -1`, or a kill of the code's parent process); {LOST}. "
            "Kill only the processes your code started."))
    return error_chunk(  # infrastructure, not the code: kind "sandbox"
        "sandbox", f"the {backend} sandbox agent died while running the code ({exc}; {cause}); {LOST}")


def _outside_cause(transport: Transport, since: float) -> str | None:
    try:
        return transport.outside_cause(since)
    except Exception as error:  # noqa: BLE001 - a backend that cannot answer vouches for nothing
        return f"the sandbox could not be checked ({type(error).__name__}: {error})"
