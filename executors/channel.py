"""`AgentClient`: the host side of the agent protocol (executors/sandbox/protocol.py), over any transport.

A backend executor holds one, built with a `connect` function that starts a
sandbox with the agent in it and returns a `Transport` to it; the client does
the rest (the request/reply exchange, computer.* calls, restarts after a
crash, stop). `AgentExecutor` is the executor made of nothing else.
"""

from __future__ import annotations

import logging
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
from lmc.errors import LMCError
from lmc.messages import Chunk

log = logging.getLogger(__name__)


class AgentClient:
    """Speaks to one in-sandbox agent at a time; starts (or restarts) it with `connect` when needed."""

    def __init__(self, backend: str, connect: Callable[[], Transport]) -> None:
        self.backend = backend  #: backend name, for messages
        self.connect = connect  #: starts a sandbox with the agent; its hello not yet read
        self.transport: Transport | None = None  #: the live agent's transport, None before it starts
        self.lock = threading.Lock()  # one request/reply exchange at a time
        self._send_lock = threading.Lock()
        self._next_id = 0
        self._running: int | None = None
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
            except BaseException:
                transport.close()  # a sandbox whose agent never came up must not leak
                raise
            self.transport = transport
        return self.transport

    def _recv(self, transport: Transport) -> AgentMessage:
        payload = transport.recv()
        if payload is None:
            raise AgentExited(f"the {self.backend} sandbox agent {transport.describe_exit()}")
        return decode(payload)

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

    # -- requests ------------------------------------------------------------------
    def languages(self) -> list[LanguageInfo]:
        """The sandbox's languages (asked once per agent)."""
        if self._languages is None:
            with self.lock:
                transport = self.ensure()
                rid = self._new_id()
                self._send(transport, LanguagesRequest(rid))
                while not isinstance(reply := self._recv(transport), (LanguagesReply, ErrorReply)) \
                        or reply.id != rid:
                    pass  # a late reply to an earlier request
                if isinstance(reply, ErrorReply):
                    raise from_wire(reply.error)
                self._languages = [LanguageInfo(name, aliases) for name, aliases in reply.languages]
        return list(self._languages)

    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream the chunks of one run; a dead agent becomes a `sandbox` error chunk."""
        limits = limits or RunLimits()
        with self.lock:
            try:
                transport = self.ensure()
            except LMCError as exc:
                yield error_chunk("sandbox", f"cannot start the {self.backend} sandbox: {exc}")
                return
            rid = self._new_id()
            self._running = rid
            block = OpenBlock()
            started = time.time()
            try:
                self._send(transport, RunRequest(rid, language, code, limits.timeout, limits.max_output,
                                                 limits.input_timeout))
                yield from block.watch(self._replies(transport, rid))
            except GeneratorExit:
                self._abandon(transport, rid)
                raise
            except (OSError, AgentError) as exc:
                log.warning("%s agent lost: %s", self.backend, exc)
                lost = agent_lost(self.backend, transport, exc, started)  # before drop() removes the evidence
                self.drop()
                yield from block.close()
                yield lost
            finally:
                self._running = None

    def _abandon(self, transport: Transport, rid: int) -> None:
        """The caller stopped reading mid-run: stop the code and drain its replies."""
        try:
            self._send(transport, StopRequest(rid))
            for _ in self._replies(transport, rid):
                pass
        except (OSError, LMCError):
            self.drop()

    def _replies(self, transport: Transport, rid: int) -> Iterator[Chunk]:
        while True:
            reply = self._recv(transport)
            if not isinstance(reply, (ChunkReply, CallRequest, ErrorReply, Done)) or reply.id != rid:
                continue  # a late reply to an earlier request
            if isinstance(reply, ChunkReply):
                yield reply.chunk
            elif isinstance(reply, CallRequest):
                answer, image = relay.answer(self.call_handler, reply)
                self._send(transport, answer)
                if image is not None:
                    yield image
            elif isinstance(reply, ErrorReply):
                raise from_wire(reply.error)
            elif isinstance(reply, Done):
                return

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
