"""The in-sandbox agent: hosts the languages, speaks length-prefixed msgpack on stdio.

The same program runs in every backend (a local child process, a Docker
container, an E2B sandbox), so a language behaves the same everywhere. It needs
only the standard library, msgpack and the `lmc` and `executors` packages.

Requests (host -> agent), one msgpack map per frame:
    {"op": "languages", "id": n}
    {"op": "run", "id": n, "language": name, "code": text,
     "timeout": s|None, "max_output": chars, "input_timeout": s}
    {"op": "stop", "id": n}            interrupt run n if it is still going
    {"op": "reply", "cid": c, "result": value | "error": {"type", "message"}}
                                       the host's answer to computer.* call c
    {"op": "close"}                     free everything and exit
Replies (agent -> host):
    {"hello": PROTOCOL, "pid": pid}    once, when ready
    {"id": n, "languages": [{"name", "aliases"}]}
    {"id": n, "chunk": {...}}          LMC chunks of run n, in order
    {"id": n, "call": {"cid", "path", "args", "kwargs"}}
                                       code of run n called computer.<path>(...)
    {"id": n, "done": True}            run n is over
    {"id": n, "error": {"type", "message"}}   the request itself was wrong
"""

from __future__ import annotations

import base64
import itertools
import os
import queue
import sys
import threading
import traceback
from typing import Any, BinaryIO

from executors.errors import ExecutorError, UnknownLanguage
from executors.sandbox.languages import BUILTINS, discover, load
from executors.sandbox.languages.base import Language, RunLimits, error_chunk
from lmc.codec import pack, to_dict, unpack
from lmc.framing import frame, read_frame

PROTOCOL = 1
#: seconds a computer.* call may take on the host (OCR, a vision model) before the code gets an error
CALL_TIMEOUT = 300.0
DEFAULT_LIMITS = RunLimits()


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

    def send(self, obj: Any) -> None:
        """Frame and write one msgpack value."""
        data = memoryview(frame(pack(obj)))
        with self.lock:
            while data:
                data = data[os.write(self.fd, data) :]


class Agent:
    """Dispatches requests to language instances, one run at a time."""

    def __init__(self, writer: FrameWriter) -> None:
        self.writer = writer
        self.classes: dict[str, type[Language]] = {}
        self.instances: dict[str, Language] = {}  # touched by the worker thread only
        self.current: tuple[int, Language] | None = None
        self.runs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.calls: dict[int, queue.Queue[dict[str, Any]]] = {}  # computer.* calls awaiting the host
        self.call_ids = itertools.count(1)
        self.worker = threading.Thread(target=self._work, name="lmc-runs", daemon=True)
        self.worker.start()  # first, so python starts while the entry points are scanned
        self.registry = discover()

    def _class(self, name: str) -> type[Language] | None:
        if name not in self.classes and name in self.registry:
            self.classes[name] = load(self.registry[name])
        return self.classes.get(name)

    def languages(self) -> list[dict[str, Any]]:
        """Name and aliases of every language that loads."""
        out = []
        for name in sorted(self.registry):
            try:
                cls = self._class(name)
            except ExecutorError as exc:
                print(f"lmc agent: {exc}", file=sys.stderr)
                continue
            if cls is not None:
                out.append({"name": name, "aliases": list(cls.aliases)})
        return out

    def handle(self, request: dict[str, Any]) -> bool:
        """Act on one request; False when the agent should exit."""
        op, rid = request.get("op"), request.get("id")
        if op == "run":
            self.runs.put(request)
        elif op == "stop":
            current = self.current
            if current is not None and current[0] == rid:
                current[1].stop()
            for waiter in list(self.calls.values()):
                waiter.put({"error": {"type": "Interrupted", "message": "the run was stopped"}})
        elif op == "reply":
            pending = self.calls.get(request.get("cid", -1))
            if pending is not None:
                pending.put(request)
        elif op == "languages":
            self.writer.send({"id": rid, "languages": self.languages()})
        elif op == "close":
            return False
        else:
            self.writer.send({"id": rid, "error": {"type": "AgentError", "message": f"unknown op {op!r}"}})
        return True

    def _prestart(self, name: str) -> None:
        """Start a built-in language's process ahead of its first run, overlapping the agent's start."""
        language = self.instances.setdefault(name, load(BUILTINS[name])())
        start = getattr(language, "prestart", None)
        if start is not None:
            start()

    def _work(self) -> None:
        try:
            self._prestart("python")
        except (OSError, ExecutorError) as exc:  # the first run reports it properly
            print(f"lmc agent: could not prestart python: {exc}", file=sys.stderr)
        while (request := self.runs.get()) is not None:
            rid = request["id"]
            try:
                self._run(rid, request)
            except Exception as exc:  # a bug of ours: report it as data, keep serving
                text = "".join(traceback.format_exception(exc))
                self.writer.send({"id": rid, "chunk": to_dict(error_chunk("internal", text))})
            finally:
                self.current = None
                self.writer.send({"id": rid, "done": True})

    def _run(self, rid: int, request: dict[str, Any]) -> None:
        name = request["language"]
        try:
            cls = self._class(name)
        except ExecutorError as exc:
            self.writer.send({"id": rid, "error": {"type": type(exc).__name__, "message": str(exc)}})
            return
        if cls is None:
            error = UnknownLanguage(name, self.registry)
            self.writer.send({"id": rid, "error": {"type": "UnknownLanguage", "message": str(error),
                                                   "name": name, "known": error.known}})
            return
        language = self.instances.get(name) or self.instances.setdefault(name, cls())
        limits = RunLimits(
            timeout=request.get("timeout"),
            max_output=request.get("max_output", DEFAULT_LIMITS.max_output),
            input_timeout=request.get("input_timeout", DEFAULT_LIMITS.input_timeout),
        )
        self.current = (rid, language)
        if hasattr(language, "relay"):
            language.relay = lambda event: self._relay(rid, event)
        for chunk in language.run(request["code"], limits):
            self.writer.send({"id": rid, "chunk": to_dict(chunk)})

    def _relay(self, rid: int, event: dict[str, Any]) -> dict[str, Any]:
        """Send a computer.* call of run rid to the host; its reply, made JSON-safe for the code."""
        cid = next(self.call_ids)
        waiter: queue.Queue[dict[str, Any]] = queue.Queue(1)
        self.calls[cid] = waiter
        call = {"cid": cid, "path": event.get("call"), "args": event.get("args", []),
                "kwargs": event.get("kwargs", {})}
        try:
            self.writer.send({"id": rid, "call": call})
            reply = waiter.get(timeout=CALL_TIMEOUT)
        except queue.Empty:
            message = f"the host did not answer computer.{call['path']} within {CALL_TIMEOUT:g} s"
            return {"error": {"type": "ComputerTimeout", "message": message}}
        finally:
            self.calls.pop(cid, None)
        if "error" in reply:
            return {"error": reply["error"]}
        return {"result": jsonable(reply.get("result"))}

    def close(self) -> None:
        """Stop the worker and every language process."""
        self.runs.put(None)
        for language in self.instances.values():
            language.close()


def serve(stdin: BinaryIO, out_fd: int) -> None:
    """Serve requests from stdin until it closes or a close request arrives."""
    writer = FrameWriter(out_fd)
    agent = Agent(writer)
    writer.send({"hello": PROTOCOL, "pid": os.getpid()})
    try:
        while (payload := read_frame(stdin)) is not None:
            request = unpack(payload)
            if not isinstance(request, dict) or not agent.handle(request):
                break
    finally:
        agent.close()


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
