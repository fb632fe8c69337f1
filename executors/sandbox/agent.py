"""The in-sandbox agent: hosts the languages, speaks length-prefixed msgpack on stdio.

The same program runs in every backend (a local child process, a Docker
container, an E2B sandbox), so a language behaves the same everywhere. It needs
only the standard library, msgpack and the `lmc` and `executors` packages. The
messages it reads and writes are those of executors/sandbox/protocol.py.
"""

from __future__ import annotations

import base64
import itertools
import os
import queue
import sys
import threading
import traceback
from typing import Any, BinaryIO, TypeGuard

from executors.errors import ExecutorError, UnknownLanguage, to_wire
from executors.sandbox.languages import BUILTINS, discover, load
from executors.sandbox.languages.base import Language, Prestartable, Relaying, RunLimits, error_chunk
from executors.sandbox.protocol import (
    PROTOCOL,
    AgentMessage,
    CallReply,
    CallRequest,
    ChunkReply,
    CloseRequest,
    Done,
    ErrorReply,
    Hello,
    LanguagesReply,
    LanguagesRequest,
    RunRequest,
    StopRequest,
    WireError,
    decode,
    encode,
    request_id,
)
from lmc.errors import FramingError, LMCError
from lmc.framing import frame, read_frame

#: prctl option that clears the dumpable flag (linux/prctl.h)
PR_SET_DUMPABLE = 4
#: seconds a computer.* call may take on the host (OCR, a vision model) before the code gets an error
CALL_TIMEOUT = 300.0


def jsonable(value: Any) -> Any:
    """A msgpack value as JSON for the language child: bytes become {"__bytes__": base64}."""
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


class FrameWriter:
    """Writes whole frames to a file descriptor; safe from several threads."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lock = threading.Lock()

    def send(self, message: AgentMessage) -> None:
        """Frame and write one protocol message."""
        data = memoryview(frame(encode(message)))
        with self.lock:
            while data:
                data = data[os.write(self.fd, data) :]


class Agent:
    """Dispatches requests to language instances, one run at a time."""

    def __init__(self, writer: FrameWriter) -> None:
        self.writer = writer
        self.classes: dict[str, type[Language]] = {}
        self.instances: dict[str, Language] = {}  # touched by the worker thread only
        self.relaying: dict[type, bool] = {}  # language class -> whether it relays computer.* calls
        self.current: tuple[int, Language] | None = None
        self.runs: queue.Queue[RunRequest | None] = queue.Queue()
        self.calls: dict[int, queue.Queue[CallReply]] = {}  # computer.* calls awaiting the host
        self.call_ids = itertools.count(1)
        self.worker = threading.Thread(target=self._work, name="lmc-runs", daemon=True)
        self.worker.start()  # first, so python starts while the entry points are scanned
        self.registry = discover()

    def _class(self, name: str) -> type[Language] | None:
        if name not in self.classes and name in self.registry:
            self.classes[name] = load(self.registry[name])
        return self.classes.get(name)

    def languages(self) -> list[tuple[str, tuple[str, ...]]]:
        """Name and aliases of every language that loads."""
        out = []
        for name in sorted(self.registry):
            try:
                cls = self._class(name)
            except ExecutorError as exc:
                print(f"lmc agent: {exc}", file=sys.stderr)
                continue
            if cls is not None:
                out.append((name, tuple(cls.aliases)))
        return out

    def handle(self, request: AgentMessage) -> bool:
        """Act on one request; False when the agent should exit."""
        if isinstance(request, RunRequest):
            self.runs.put(request)
        elif isinstance(request, StopRequest):
            current = self.current
            if current is not None and current[0] == request.id:
                current[1].stop()
            for waiter in list(self.calls.values()):
                waiter.put(CallReply(0, error=WireError("Interrupted", "the run was stopped")))
        elif isinstance(request, CallReply):
            pending = self.calls.get(request.cid)
            if pending is not None:
                pending.put(request)
        elif isinstance(request, LanguagesRequest):
            self.writer.send(LanguagesReply(request.id, self.languages()))
        elif isinstance(request, CloseRequest):
            return False
        else:
            error = WireError("AgentError", f"the agent does not take {request.op!r} messages; it takes "
                              "languages, run, stop, reply and close")
            self.writer.send(ErrorReply(getattr(request, "id", None), error))
        return True

    def _prestart(self, name: str) -> None:
        """Start a built-in language's process ahead of its first run, overlapping the agent's start."""
        language = self.instances.setdefault(name, load(BUILTINS[name])())
        if isinstance(language, Prestartable):
            language.prestart()

    def _work(self) -> None:
        try:
            self._prestart("python")
        except (OSError, ExecutorError) as exc:  # the first run reports it properly
            print(f"lmc agent: could not prestart python: {exc}", file=sys.stderr)
        while (request := self.runs.get()) is not None:
            rid = request.id
            end: AgentMessage = Done(rid)
            try:
                self._run(request)
            except ExecutorError as exc:  # the code cannot be run as given (InvalidCode, UnknownLanguage)
                end = ErrorReply(rid, to_wire(exc))  # ends the run: no Done follows an ErrorReply
            except Exception as exc:  # a bug of ours: report it as data, keep serving
                text = "".join(traceback.format_exception(exc))
                self.writer.send(ChunkReply(rid, error_chunk("internal", text)))
            finally:
                self.current = None
                self.writer.send(end)

    def _language(self, name: str) -> Language:
        """The running instance of a language, started on first use; UnknownLanguage if none is named so."""
        cls = self._class(name)
        if cls is None:
            raise UnknownLanguage(name, self.registry)
        return self.instances.get(name) or self.instances.setdefault(name, cls())

    def _run(self, request: RunRequest) -> None:
        rid = request.id
        language = self._language(request.language)
        limits = RunLimits(request.timeout, request.max_output, request.input_timeout)
        self.current = (rid, language)
        if self._relays(language):
            language.relay = lambda event: self._relay(rid, event)
        for chunk in language.run(request.code, limits):
            self.writer.send(ChunkReply(rid, chunk))

    def _relays(self, language: Language) -> TypeGuard[Relaying]:
        """Whether the language relays computer.* calls; asked once per class (a Protocol
        isinstance check costs ~20 us, a tenth of a warm run)."""
        cls = type(language)
        if cls not in self.relaying:
            self.relaying[cls] = isinstance(language, Relaying)
        return self.relaying[cls]

    def _relay(self, rid: int, event: dict[str, Any]) -> dict[str, Any]:
        """Send a computer.* call of run rid to the host; its reply, made JSON-safe for the code."""
        cid = next(self.call_ids)
        waiter: queue.Queue[CallReply] = queue.Queue(1)
        self.calls[cid] = waiter
        call = CallRequest(rid, cid, str(event.get("call")), list(event.get("args") or []),
                           dict(event.get("kwargs") or {}))
        try:
            self.writer.send(call)
            reply = waiter.get(timeout=CALL_TIMEOUT)
        except queue.Empty:
            message = f"the host did not answer computer.{call.path} within {CALL_TIMEOUT:g} s"
            return {"error": {"type": "ComputerTimeout", "message": message}}
        finally:
            self.calls.pop(cid, None)
        if reply.error is not None:
            return {"error": {"type": reply.error.kind, "message": reply.error.message}}
        return {"result": jsonable(reply.result)}

    def close(self) -> None:
        """Stop the worker and every language process."""
        self.runs.put(None)
        for language in self.instances.values():
            language.close()


def serve(stdin: BinaryIO, out_fd: int) -> None:
    """Serve requests from stdin until it closes or a close request arrives.

    A request that is not one of the protocol's (wrong types, a missing field, an unknown op)
    is answered with an ErrorReply and none of it runs; the agent keeps serving. Only a broken
    frame ends it (a bad length prefix leaves no way to find the next frame), after saying so.
    """
    writer = FrameWriter(out_fd)
    agent = Agent(writer)
    writer.send(Hello(PROTOCOL, os.getpid()))
    hide_channel()  # after the hello (the python prestart overlaps it), before any code can run
    try:
        while (payload := _next_frame(stdin, writer)) is not None:
            try:
                request = decode(payload)
            except LMCError as exc:  # a host of another version, or something else writing to our stdin
                writer.send(ErrorReply(request_id(payload), to_wire(exc)))
                continue
            try:
                if not agent.handle(request):
                    break
            except Exception as exc:  # a bug of ours: said, and the agent keeps serving
                text = "".join(traceback.format_exception(exc))
                writer.send(ErrorReply(getattr(request, "id", None), WireError("AgentError", text)))
    finally:
        agent.close()


def hide_channel() -> None:
    """Make the agent non-dumpable (Linux), so code running as the same user cannot open its pipes.

    Sandboxed code runs as the agent's user and could otherwise open /proc/<agent>/fd/N and
    write forged frames to the host or read its requests. A non-dumpable process's /proc
    entries need CAP_SYS_PTRACE, which Docker sandboxes do not have; a local agent run by root
    stays reachable by root's code (the local backend isolates nothing). Children are not
    affected: exec makes each language's process dumpable again.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # here: ~3 ms that only this call needs

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
    except (OSError, AttributeError) as exc:  # no libc prctl (musl builds have it; others may not)
        print(f"lmc agent: could not hide the channel from sandboxed code: {exc}", file=sys.stderr)


def _next_frame(stdin: BinaryIO, writer: FrameWriter) -> bytes | None:
    """The next request frame; None at the end of input or, said to the host, a broken frame."""
    try:
        return read_frame(stdin)
    except FramingError as exc:
        print(f"lmc agent: {exc}; exiting", file=sys.stderr)
        writer.send(ErrorReply(None, to_wire(exc)))
        return None


def main(argv: list[str] | None = None) -> None:
    """Entry point: keep fd 1 for frames only, so stray prints cannot corrupt the channel.

    `--wire base64` speaks one base64 line per frame instead of binary frames,
    for sandboxes whose stdio carries only text (E2B); see executors.sandbox.wire.
    """
    from executors.sandbox.wire import WIRE_MODES, LineFrameReader, pump_lines

    args = sys.argv[1:] if argv is None else argv
    wire = args[args.index("--wire") + 1] if "--wire" in args[:-1] else "binary"
    if wire not in WIRE_MODES:
        sys.exit(f"lmc agent: unknown --wire {wire!r}; known: {', '.join(WIRE_MODES)}")
    out_fd = os.dup(1)
    os.set_inheritable(out_fd, False)
    os.dup2(2, 1)
    if wire == "binary":
        serve(sys.stdin.buffer, out_fd)
        return
    # frames go through a pipe to a thread that writes them as lines, so serve() stays one code path
    frames_r, frames_w = os.pipe()
    pump = threading.Thread(target=pump_lines, args=(frames_r, out_fd), name="lmc-wire", daemon=True)
    pump.start()
    try:
        serve(LineFrameReader(sys.stdin.buffer), frames_w)  # type: ignore[arg-type]
    finally:
        os.close(frames_w)
        pump.join(timeout=5)


if __name__ == "__main__":
    main()
