"""`AgentExecutor`: the host side of the agent protocol (see executors/sandbox/agent.py), over any transport."""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

from executors.base import CallHandler, Executor, LanguageInfo, Transport
from executors.errors import AgentError, ExecutorError, LanguageLoadError, UnknownLanguage
from executors.sandbox.languages.base import RunLimits, error_chunk
from lmc.codec import chunk_from_dict, pack, to_dict, unpack
from lmc.errors import LMCError
from lmc.messages import Chunk, Message

log = logging.getLogger(__name__)

_ERRORS: dict[str, type[ExecutorError]] = {
    "LanguageLoadError": LanguageLoadError,
    "AgentError": AgentError,
}


class _BlockTracker:
    """Remembers the block a stream left open, so a failure can close it before reporting."""

    def __init__(self) -> None:
        self.open: Chunk | None = None

    def watch(self, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        """Pass chunks through, tracking start and end."""
        for chunk in chunks:
            if chunk.start and not chunk.end:
                self.open = chunk
            elif chunk.end:
                self.open = None
            yield chunk

    def close_open(self) -> Iterator[Chunk]:
        """An end chunk for the block left open, if any."""
        if self.open is not None:
            head, self.open = self.open, None
            yield Chunk(head.role, head.type, None, head.format, end=True)


class AgentExecutor(Executor):
    """An executor whose sandbox runs the in-sandbox agent; subclasses only connect."""

    def __init__(self) -> None:
        self._transport: Transport | None = None
        self._lock = threading.Lock()  # one request/reply exchange at a time
        self._send_lock = threading.Lock()
        self._next_id = 0
        self._running: int | None = None
        self._languages: list[LanguageInfo] | None = None
        #: answers computer.* calls made by code in the sandbox: (path, args, kwargs) -> result
        self.call_handler: CallHandler | None = None

    @abstractmethod
    def connect(self) -> Transport:
        """Start a sandbox with the agent in it; return a transport to it (hello not yet read)."""

    # -- connection ----------------------------------------------------------------
    def _ensure(self) -> Transport:
        if self._transport is None:
            transport = self.connect()
            try:
                hello = self._decode(transport.recv(), transport)
                if not isinstance(hello, dict) or "hello" not in hello:
                    raise AgentError(f"the {self.backend} sandbox agent did not greet; got {hello!r}")
            except BaseException:
                transport.close()  # a sandbox whose agent never came up must not leak
                raise
            self._transport = transport
        return self._transport

    def _decode(self, payload: bytes | None, transport: Transport) -> Any:
        if payload is None:
            raise AgentError(f"the {self.backend} sandbox agent {transport.describe_exit()}")
        return unpack(payload)

    def _send(self, transport: Transport, request: dict[str, Any]) -> None:
        with self._send_lock:
            transport.send(pack(request))

    def _drop(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- the interface -------------------------------------------------------------
    def languages(self) -> list[LanguageInfo]:
        """The sandbox's languages (asked once per executor)."""
        if self._languages is None:
            with self._lock:
                transport = self._ensure()
                rid = self._new_id()
                self._send(transport, {"op": "languages", "id": rid})
                reply = self._decode(transport.recv(), transport)
                self._languages = [LanguageInfo(d["name"], tuple(d["aliases"])) for d in reply["languages"]]
        return list(self._languages)

    def run(self, language: str, code: str, limits: RunLimits | None = None) -> Iterator[Chunk]:
        """Stream the chunks of one run; a dead agent becomes a `crashed` error chunk."""
        limits = limits or RunLimits()
        with self._lock:
            try:
                transport = self._ensure()
            except LMCError as exc:
                yield error_chunk("sandbox", f"cannot start the {self.backend} sandbox: {exc}")
                return
            rid = self._new_id()
            request = {"op": "run", "id": rid, "language": language, "code": code, "timeout": limits.timeout,
                       "max_output": limits.max_output, "input_timeout": limits.input_timeout}
            self._running = rid
            tracker = _BlockTracker()
            try:
                self._send(transport, request)
                yield from tracker.watch(self._replies(transport, rid))
            except GeneratorExit:
                self._abandon(transport, rid)
                raise
            except (OSError, AgentError) as exc:
                log.warning("%s agent lost: %s", self.backend, exc)
                self._drop()
                yield from tracker.close_open()
                yield error_chunk(  # infrastructure, not the code: kind "sandbox"
                    "sandbox",
                    f"the {self.backend} sandbox agent died while running the code ({exc}); all state "
                    "(variables, files outside the workspace, working directory) was lost and a fresh "
                    "sandbox starts on the next run",
                )
            finally:
                self._running = None

    def _abandon(self, transport: Transport, rid: int) -> None:
        """The caller stopped reading mid-run: stop the code and drain its replies."""
        try:
            self._send(transport, {"op": "stop", "id": rid})
            for _ in self._replies(transport, rid):
                pass
        except (OSError, LMCError):
            self._drop()

    def _replies(self, transport: Transport, rid: int) -> Iterator[Chunk]:
        while True:
            reply = self._decode(transport.recv(), transport)
            if reply.get("id") != rid:
                continue  # a late reply to an earlier request
            if "chunk" in reply:
                yield chunk_from_dict(reply["chunk"])
            elif "call" in reply:
                yield from self._answer(transport, reply["call"])
            elif "error" in reply:
                self._raise(reply["error"])
            elif reply.get("done"):
                return

    def _answer(self, transport: Transport, call: dict[str, Any]) -> Iterator[Chunk]:
        """Run a computer.* call on the host's devices; a viewed image joins the stream."""
        path = str(call.get("path"))
        reply: dict[str, Any] = {"op": "reply", "cid": call.get("cid")}
        if self.call_handler is None:
            reply["error"] = {"type": "ComputerUnavailable", "message": (
                f"computer.{path} needs a screen, and this session has none: start it with devices "
                "(lmc --os, or Computer(devices=...))")}
        else:
            try:
                result = self.call_handler(path, call.get("args") or [], call.get("kwargs") or {})
            except LMCError as exc:  # the caller's mistake or a device failure: data for the code
                reply["error"] = {"type": type(exc).__name__, "message": str(exc)}
            else:
                if path == "display.view" and isinstance(result, Message) and result.type == "image":
                    yield Chunk.whole(result)  # shown to the model, as Open Interpreter does
                    result = None
                reply["result"] = to_dict(result) if isinstance(result, Message) else result
        self._send(transport, reply)

    def _raise(self, error: dict[str, Any]) -> None:
        if error["type"] == "UnknownLanguage":
            raise UnknownLanguage(error["name"], error["known"])
        raise _ERRORS.get(error["type"], AgentError)(error["message"])

    def stop(self) -> None:
        """Ask the agent to interrupt the current run (safe from any thread)."""
        rid, transport = self._running, self._transport
        if rid is None or transport is None:
            return
        try:
            self._send(transport, {"op": "stop", "id": rid})
        except OSError:
            pass  # the agent is gone; the run reports that

    def close(self) -> None:
        """Ask the agent to exit, then tear the sandbox down."""
        transport, self._transport = self._transport, None
        if transport is None:
            return
        try:
            self._send(transport, {"op": "close"})
        except OSError:
            pass
        transport.close()
