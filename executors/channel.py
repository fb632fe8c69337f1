"""`AgentClient`: the host side of the agent protocol (executors/sandbox/protocol.py), over any transport.

A backend executor holds one, built with a `connect` function that starts a
sandbox with the agent in it and returns a `Transport` to it; the client does
the rest (the request/reply exchange, computer.* calls, restarts after a
crash, stop). `AgentExecutor` is the executor made of nothing else.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator

from executors import relay
from executors.agent_loss import agent_lost
from executors.base import CallHandler, Executor, LanguageInfo, Transport
from executors.blocks import OpenBlock
from executors.errors import AgentError, AgentExited, from_wire
from executors.sandbox.languages.base import RunLimits, error_chunk
from executors.sandbox.protocol import (
    PROTOCOL,
    AgentMessage,
    CallRequest,
    ChunkReply,
    CloseRequest,
    Done,
    ErrorReply,
    Hello,
    LanguagesReply,
    LanguagesRequest,
    Request,
    RunRequest,
    StopRequest,
    decode,
    encode,
)
from executors.watchdog import watchdog
from lmc.errors import FramingError, InvalidMessage, LMCError
from lmc.messages import Chunk

log = logging.getLogger(__name__)


#: seconds past a run's timeout (or a stop) the host waits for the agent to end the run before it
#: drops the sandbox as unresponsive; the agent's own stop takes up to STOP_GRACE (2 s) plus a restart
GRACE = 10.0


class _Refused(Exception):
    """The agent refused or failed the request: its ErrorReply's error, raised again to the caller."""

    def __init__(self, error: LMCError) -> None:
        super().__init__(str(error))
        self.error = error


class AgentClient:
    """Speaks to one in-sandbox agent at a time; starts (or restarts) it with `connect` when needed.

    What the agent sends is untrusted (sandboxed code can reach its channel on some platforms):
    a frame that does not decode, a message of the wrong kind or for a request not in flight
    is an `AgentError`, and a run that meets one ends with a `sandbox` error chunk, the sandbox
    dropped, the next run on a fresh one.
    """

    def __init__(self, backend: str, connect: Callable[[], Transport]) -> None:
        self.backend = backend  #: backend name, for messages
        self.connect = connect  #: starts a sandbox with the agent; its hello not yet read
        self.transport: Transport | None = None  #: the live agent's transport, None before it starts
        self.lock = threading.Lock()  # one request/reply exchange at a time
        self._send_lock = threading.Lock()
        self._next_id = 0
        self._running: int | None = None
        self._deadline: tuple[int, float] | None = None  # the watchdog token and deadline of the run
        self._expired: str | None = None  # why the watchdog ended the sandbox of the current run
        self._languages: list[LanguageInfo] | None = None
        #: answers computer.* calls made by code in the sandbox: (path, args, kwargs) -> result
        self.call_handler: CallHandler | None = None

    # -- connection ----------------------------------------------------------------
    def ensure(self) -> Transport:
        """The live agent's transport, starting a sandbox and reading its hello if none runs."""
        if self.transport is None:
            transport = self.connect()
            try:
                hello = self._recv(transport)
                if not isinstance(hello, Hello):
                    raise AgentError(f"the {self.backend} sandbox agent did not greet; got {hello!r}")
                if hello.protocol != PROTOCOL:
                    raise AgentError(f"the {self.backend} sandbox agent speaks protocol {hello.protocol}, "
                                     f"this host {PROTOCOL}; start the sandbox from this lmc")
            except BaseException:
                transport.close()  # a sandbox whose agent never came up must not leak
                raise
            self.transport = transport
        return self.transport

    def _recv(self, transport: Transport) -> AgentMessage:
        """The agent's next message; AgentError when it went away or sent something malformed."""
        try:
            payload = transport.recv()
            if payload is None:
                if self._expired:  # the host ended it at the deadline: not the code's doing
                    raise AgentError(self._expired)
                raise AgentExited(f"the {self.backend} sandbox agent {transport.describe_exit()}")
            return decode(payload)
        except (FramingError, InvalidMessage) as exc:  # untrusted bytes: never past this point
            raise AgentError(f"the {self.backend} sandbox agent sent a malformed frame ({exc}); "
                             "the sandbox cannot be trusted to continue") from exc
        except OSError as exc:
            if self._expired:
                raise AgentError(self._expired) from exc
            raise

    def _unexpected(self, reply: AgentMessage, rid: int) -> AgentError:
        if isinstance(reply, ErrorReply) and reply.id is None:
            return AgentError(f"the {self.backend} sandbox agent refused a request: "
                              f"{reply.error.kind}: {reply.error.message}")
        shown = getattr(reply, "id", None)
        return AgentError(f"the {self.backend} sandbox agent sent an unexpected {reply.op!r} message "
                          f"(id {shown}) while request {rid} was in flight")

    def _send(self, transport: Transport, request: Request) -> None:
        with self._send_lock:
            transport.send(encode(request))

    def drop(self) -> None:
        """Forget the agent (its sandbox is gone or broken): close its transport; the next run starts anew."""
        transport, self.transport = self.transport, None
        self._languages = None
        if transport is not None:
            transport.close()

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- deadlines -----------------------------------------------------------------
    def _arm(self, transport: Transport, seconds: float, why: str) -> None:
        """Drop the sandbox if the run has not ended `seconds` from now (or sooner, if already armed)."""
        deadline = time.monotonic() + seconds
        if self._deadline is not None:
            if self._deadline[1] <= deadline:
                return
            watchdog().disarm(self._deadline[0])
        token = watchdog().arm(deadline, lambda: self._expire(transport, token, why))
        self._deadline = (token, deadline)

    def _disarm(self) -> float:
        """Stop the run's deadline; the seconds that were left (inf if none)."""
        if self._deadline is None:
            return math.inf
        token, deadline = self._deadline
        self._deadline = None
        watchdog().disarm(token)
        return deadline - time.monotonic()

    def _expire(self, transport: Transport, token: int, why: str) -> None:
        """The watchdog's action: the sandbox did not answer in time; end it so the run can return."""
        deadline = self._deadline
        if deadline is None or deadline[0] != token:
            return  # the run ended just as the deadline passed
        self._expired = (f"the {self.backend} sandbox did not answer {why}; it was dropped as "
                         "unresponsive (frozen, paused or overloaded)")
        log.warning("%s", self._expired)
        transport.abort()

    # -- requests ------------------------------------------------------------------
    def languages(self) -> list[LanguageInfo]:
        """The sandbox's languages (asked once per agent)."""
        if self._languages is None:
            with self.lock:
                transport = self.ensure()
                rid = self._new_id()
                self._send(transport, LanguagesRequest(rid))
                try:
                    reply = self._recv(transport)
                    if isinstance(reply, ErrorReply) and reply.id == rid:
                        raise from_wire(reply.error)
                    if not isinstance(reply, LanguagesReply) or reply.id != rid:
                        raise self._unexpected(reply, rid)
                except (OSError, AgentError):
                    self.drop()
                    raise
                self._languages = [LanguageInfo(name, aliases) for name, aliases in reply.languages]
        return list(self._languages)

    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream the chunks of one run; a dead, malformed or unresponsive agent becomes a `sandbox` error chunk."""
        limits = limits or RunLimits()
        with self.lock:
            try:
                transport = self.ensure()
            except LMCError as exc:
                yield error_chunk("sandbox", f"cannot start the {self.backend} sandbox: {exc}")
                return
            rid = self._new_id()
            self._running, self._expired = rid, None
            block = OpenBlock()
            started = time.time()
            try:
                if limits.timeout is not None:
                    self._arm(transport, limits.timeout + GRACE,
                              f"within {limits.timeout:g} s (the run's timeout) + {GRACE:g} s")
                self._send(transport, RunRequest(rid, language, code, limits.timeout, limits.max_output,
                                                 limits.input_timeout))
                yield from block.watch(self._replies(transport, rid))
            except GeneratorExit:
                self._abandon(transport, rid)
                raise
            except _Refused as refused:
                raise refused.error from None
            except (OSError, AgentError) as exc:
                # a send cut by the deadline fails with EPIPE: the deadline is the reason
                lost_by: Exception = AgentError(self._expired) if self._expired else exc
                log.warning("%s agent lost: %s", self.backend, lost_by)
                lost = agent_lost(self.backend, transport, lost_by, started)  # before drop() removes the evidence
                self.drop()
                yield from block.close()
                yield lost
            finally:
                self._disarm()
                self._running = None

    def _abandon(self, transport: Transport, rid: int) -> None:
        """The caller stopped reading mid-run: stop the code and drain its replies."""
        try:
            self._arm(transport, GRACE, f"within {GRACE:g} s of a stop")
            self._send(transport, StopRequest(rid))
            for _ in self._replies(transport, rid):
                pass
        except _Refused:
            pass  # the run ended with an error nobody reads any more
        except (OSError, LMCError):
            self.drop()

    def _replies(self, transport: Transport, rid: int) -> Iterator[Chunk]:
        """The chunks of run `rid` until its Done; anything not of this run is an AgentError."""
        while True:
            reply = self._recv(transport)
            if isinstance(reply, ChunkReply) and reply.id == rid:
                if reply.chunk.role != "computer":  # the agent speaks for the computer only
                    raise AgentError(f"the {self.backend} sandbox agent sent a {reply.chunk.role!r} "
                                     "chunk; only the computer's output comes from a sandbox")
                yield reply.chunk
            elif isinstance(reply, CallRequest) and reply.id == rid:
                left = self._disarm()  # the host's own time answering is not the sandbox's
                answer, image = relay.answer(self.call_handler, reply)
                if left != math.inf:
                    self._arm(transport, max(left, 0.0), "in time after a computer.* call")
                self._send(transport, answer)
                if image is not None:
                    yield image
            elif isinstance(reply, Done) and reply.id == rid:
                return
            elif isinstance(reply, ErrorReply) and reply.id == rid:
                raise _Refused(from_wire(reply.error))
            else:
                raise self._unexpected(reply, rid)

    def stop(self) -> None:
        """Ask the agent to interrupt the current run (safe from any thread)."""
        rid, transport = self._running, self.transport
        if rid is None or transport is None:
            return
        try:
            self._send(transport, StopRequest(rid))
        except OSError:
            pass  # the agent is gone; the run reports that

    def close(self) -> None:
        """Ask the agent to exit, then tear the sandbox down."""
        transport, self.transport = self.transport, None
        self._languages = None
        if transport is None:
            return
        try:
            self._send(transport, CloseRequest())
        except OSError:
            pass
        transport.close()


class AgentExecutor(Executor):
    """An executor that is an agent client and nothing more: `run`, `stop`, `languages`, `close` go to it.

    Backends build it with their `connect` function (`AgentExecutor.__init__(self, connect)`),
    or hold an `AgentClient` of their own where they add behaviour around it.
    """

    def __init__(self, connect: Callable[[], Transport]) -> None:
        self.client = AgentClient(self.backend, connect)  #: the agent protocol's host side

    @property
    def call_handler(self) -> CallHandler | None:
        """Answers computer.* calls from code in the sandbox; None when the session has no screen."""
        return self.client.call_handler

    @call_handler.setter
    def call_handler(self, handler: CallHandler | None) -> None:
        self.client.call_handler = handler

    def languages(self) -> list[LanguageInfo]:
        """The sandbox's languages."""
        return self.client.languages()

    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream the chunks of one run."""
        return self.client.run(language, code, limits)

    def stop(self) -> None:
        """Interrupt the current run (safe from any thread)."""
        self.client.stop()

    def close(self) -> None:
        """Ask the agent to exit, then tear the sandbox down."""
        self.client.close()
