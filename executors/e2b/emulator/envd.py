"""envd, the daemon inside every E2B sandbox: the `process.Process` Connect-RPC service and `/files`.

The service runs on the SDK's own generated server stub (`ProcessWSGIApplication`)
and message classes, so requests and responses use exactly the Connect JSON
wire format the SDK's client expects.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
from collections.abc import Iterator
from typing import Any

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
from e2b.envd.process import process_pb as pb
from e2b.envd.process.process_connect import ProcessSync
from protobuf import Oneof
from werkzeug.wrappers import Request, Response

from executors.e2b.emulator.sandboxes import Command, Event, Sandbox
from executors.e2b.emulator.state import Cloud

#: the socket of the request being served on this thread, so a lost sandbox can drop it
current = threading.local()

KEEPALIVE_HEADER = "keepalive-ping-interval"
Ctx = RequestContext[Any, Any]


def _event(name: str, value: Any) -> pb.ProcessEvent:
    return pb.ProcessEvent(event=Oneof(name, value))  # type: ignore[arg-type]


def _end(event: Event) -> pb.ProcessEvent:
    if event.signal:
        status = {9: "signal: killed", 15: "signal: terminated"}.get(event.signal, f"signal: {event.signal}")
        return _event("end", pb.ProcessEvent.EndEvent(exit_code=-1, exited=False, status=status))
    return _event("end", pb.ProcessEvent.EndEvent(exit_code=event.exit_code, exited=True,
                                                   status=f"exit status {event.exit_code}"))


def drop_connection() -> None:
    """Cut the current client connection mid-response, as a vanished sandbox's proxy does."""
    sock: socket.socket | None = getattr(current, "socket", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class ProcessService(ProcessSync):
    """`process.Process`: start, stream, feed and signal commands of the addressed sandbox."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def _sandbox(self, ctx: Ctx) -> Sandbox:
        sandbox_id = ctx.request_headers.get("e2b-sandbox-id", "")
        sandbox = self.cloud.get(sandbox_id)
        if sandbox is None:
            raise ConnectError(Code.UNAVAILABLE, f"The sandbox {sandbox_id} was not found")
        return sandbox

    def _command(self, ctx: RequestContext[Any, Any], selector: pb.ProcessSelector | None) -> Command:
        pid = selector.selector.value if selector is not None and selector.selector is not None else None
        command = self._sandbox(ctx).commands.get(pid) if isinstance(pid, int) else None
        if command is None:
            raise ConnectError(Code.NOT_FOUND, f"process with pid {pid} not found")
        return command

    def start(self, request: pb.StartRequest, ctx: Ctx, /) -> Iterator[pb.StartResponse]:
        """Start a command and stream its events."""
        config = request.process
        if config is None or not config.cmd:
            raise ConnectError(Code.INVALID_ARGUMENT, "process.cmd is required")
        sandbox = self._sandbox(ctx)
        try:
            command = sandbox.start([config.cmd, *config.args], config.cwd or None, dict(config.envs),
                                    bool(request.stdin))
        except OSError as exc:
            raise ConnectError(Code.INVALID_ARGUMENT, f"cannot start {config.cmd!r}: {exc}") from exc
        events = command.subscribe()
        command.run()
        yield pb.StartResponse(event=_event("start", pb.ProcessEvent.StartEvent(pid=command.pid)))
        for event in self._events(events, ctx):
            yield pb.StartResponse(event=event)

    def connect(self, request: pb.ConnectRequest, ctx: Ctx, /) -> Iterator[pb.ConnectResponse]:
        """Attach to a running command's events."""
        command = self._command(ctx, request.process)
        events = command.subscribe()
        yield pb.ConnectResponse(event=_event("start", pb.ProcessEvent.StartEvent(pid=command.pid)))
        for event in self._events(events, ctx):
            yield pb.ConnectResponse(event=event)

    def _events(self, events: queue.Queue[Event], ctx: Ctx) -> Iterator[pb.ProcessEvent]:
        interval = float(ctx.request_headers.get(KEEPALIVE_HEADER, "50"))
        while True:
            try:
                event = events.get(timeout=interval)
            except queue.Empty:
                yield _event("keepalive", pb.ProcessEvent.KeepAlive())
                continue
            if event.kind in ("stdout", "stderr"):
                output = Oneof(event.kind, event.data)
                yield _event("data", pb.ProcessEvent.DataEvent(output=output))  # type: ignore[arg-type]
            elif event.kind == "end":
                yield _end(event)
                return
            else:  # lost: no end event, the connection just drops
                drop_connection()
                return

    def send_input(self, request: pb.SendInputRequest, ctx: Ctx, /) -> pb.SendInputResponse:
        """Write to a command's stdin."""
        command = self._command(ctx, request.process)
        data = request.input.input.value if request.input is not None and request.input.input else b""
        try:
            command.write_stdin(data)
        except (BrokenPipeError, ValueError) as exc:
            raise ConnectError(Code.FAILED_PRECONDITION, f"stdin of process {command.pid} is closed") from exc
        return pb.SendInputResponse()

    def close_stdin(self, request: pb.CloseStdinRequest, ctx: Ctx, /) -> pb.CloseStdinResponse:
        """Close a command's stdin."""
        self._command(ctx, request.process).close_stdin()
        return pb.CloseStdinResponse()

    def send_signal(self, request: pb.SendSignalRequest, ctx: Ctx, /) -> pb.SendSignalResponse:
        """Signal a command (SIGTERM or SIGKILL)."""
        command = self._command(ctx, request.process)
        command.signal(int(request.signal.value) if request.signal else 9)
        return pb.SendSignalResponse()

    def list(self, request: pb.ListRequest, ctx: Ctx, /) -> pb.ListResponse:
        """The sandbox's running commands."""
        sandbox = self._sandbox(ctx)
        running = [pb.ProcessInfo(pid=pid) for pid, c in sandbox.commands.items() if c.proc.poll() is None]
        return pb.ListResponse(processes=running)


def _resolve(sandbox: Sandbox, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(sandbox.root, path)


def files(sandbox: Sandbox, request: Request) -> Response:
    """`GET /files?path=` reads a file; `POST /files` writes (multipart or octet-stream)."""
    if request.method == "GET":
        path = _resolve(sandbox, request.args.get("path", ""))
        if not os.path.isfile(path):
            return Response(json.dumps({"code": 404, "message": f"file {path} not found"}), 404,
                            content_type="application/json")
        with open(path, "rb") as fh:
            return Response(fh.read(), 200, content_type="application/octet-stream")
    if request.mimetype == "application/octet-stream":
        uploads = [(request.args.get("path", ""), request.get_data())]
    else:
        default = request.args.get("path", "")
        uploads = [(f.filename or default, f.read()) for f in request.files.getlist("file")]
    written = []
    for name, data in uploads:
        path = _resolve(sandbox, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        written.append({"name": os.path.basename(path), "type": "file", "path": path})
    return Response(json.dumps(written), 200, content_type="application/json")
