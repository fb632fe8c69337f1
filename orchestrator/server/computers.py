"""Computers without a model: create one, run code (SSE or WebSocket), stop, move files, close.

    POST   /computers                  {"backend": "docker", "config": {...}, "idle_timeout": 60, "desktop": true}
    GET    /computers                  this token's computers
    GET    /computers/{id}
    POST   /computers/{id}/run         {"language": "python", "code": "...", "timeout": 30} -> SSE
    WS     /computers/{id}/ws          ?format=json|msgpack; send {"language", "code"} or {"command": "stop"}
    POST   /computers/{id}/stop        interrupt the running code
    POST   /computers/{id}/keepalive   count as used now (resets the idle timeout)
    PUT    /computers/{id}/files/{path} the body is the file's bytes (backends with file transfer)
    GET    /computers/{id}/files/{path}
    DELETE /computers/{id}
"""

from __future__ import annotations

import asyncio
import dataclasses
import posixpath
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from executors.backends import backend_names, config_class
from lmc.messages import Chunk, Message
from orchestrator.computer import Computer
from orchestrator.server.desktop import has_desktop
from orchestrator.server.endpoint import (
    Sender,
    check_fields,
    idle_timeout,
    json_body,
    owner,
    pump_to_socket,
    serve_socket,
    sse_response,
    start_stream,
)
from orchestrator.server.errors import BadRequest, Busy
from orchestrator.server.registry import Entry, Registry
from orchestrator.server.state import state
from orchestrator.server.streaming import Pump

CREATE_FIELDS: dict[str, type | tuple[type, ...]] = {"backend": str, "config": dict, "idle_timeout": (int, float),
                                                     "desktop": bool}
RUN_FIELDS: dict[str, type | tuple[type, ...]] = {"language": str, "code": str, "timeout": (int, float),
                                                  "max_output": int}
#: config fields that reach into the server's machine or its secrets (host folders and variables, the
#: Docker daemon, the X display, where the E2B key is sent, another sandbox): not for remote clients
HOST_FIELDS: dict[str, frozenset[str]] = {
    "docker": frozenset({"workspace", "forward_env", "docker_host", "display"}),
    "e2b": frozenset({"upload", "api_url", "sandbox_url", "domain", "sandbox_id"}),
}
#: the end of every run streamed on a WebSocket
COMPLETE = Chunk.whole(Message("server", "status", "complete"))


def backend_config(backend: str, given: dict[str, Any]) -> Any:
    """The backend's config dataclass from JSON fields; BadRequest naming an unknown backend or field."""
    if backend not in backend_names():
        raise BadRequest(f"unknown backend {backend!r}; known: {', '.join(backend_names())}")
    cls = config_class(backend)
    host = HOST_FIELDS.get(backend, frozenset())
    refused = sorted(set(given) & host)
    if refused:
        raise BadRequest(f"the {backend} config field {refused[0]!r} reaches into the server's machine and "
                         f"cannot be set over the network; leave out: {', '.join(sorted(host))}")
    names = {f.name for f in dataclasses.fields(cls) if f.init} - host
    unknown = sorted(set(given) - names)
    if unknown:
        raise BadRequest(f"unknown {backend} config field {unknown[0]!r}; known: {', '.join(sorted(names))}")
    try:
        return cls(**given)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"bad {backend} config: {exc}") from None


def describe(entry: Entry[Computer]) -> dict[str, Any]:
    """What GET says about a computer."""
    return {"id": entry.id, "backend": entry.item.executor.backend, "running": entry.busy,
            "idle_timeout": entry.idle_timeout, "desktop": has_desktop(entry.item)}


def _registry(request: Request | WebSocket) -> Registry[Computer]:
    return state(request).computers


def _entry(request: Request) -> Entry[Computer]:
    return _registry(request).get(owner(request), request.path_params["id"])


async def create(request: Request) -> Response:
    """Make a computer; its sandbox starts on the first run."""
    data = await json_body(request, CREATE_FIELDS, required=("backend",))
    config = backend_config(data["backend"], data.get("config") or {})
    timeout = idle_timeout(data, state(request).config.idle_timeout)
    hosting = state(request).hosting
    make = hosting.desktop_computer if data.get("desktop") else hosting.computer
    computer = await asyncio.to_thread(make, data["backend"], config)
    entry = _registry(request).add(owner(request), computer, timeout)
    return JSONResponse(describe(entry), status_code=201)


async def listing(request: Request) -> Response:
    """This token's computers."""
    return JSONResponse([describe(e) for e in _registry(request).owned(owner(request))])


async def show(request: Request) -> Response:
    """One computer."""
    return JSONResponse(describe(_entry(request)))


async def _started_run(registry: Registry[Computer], entry: Entry[Computer], data: dict[str, Any]) -> Pump[Chunk]:
    """Claim the computer and start the run on a stream worker; a bad language or code is raised here
    (a 400 before anything streams)."""
    pump = start_stream(registry, entry, lambda: entry.item.run(
        data["language"], data["code"], stream=True, timeout=data.get("timeout"), max_output=data.get("max_output")),
        entry.item.stop)
    await pump.started()
    return pump


async def run(request: Request) -> Response:
    """Run code; the chunks as server-sent events."""
    entry = _entry(request)
    data = await json_body(request, RUN_FIELDS, required=("language", "code"))
    return sse_response(await _started_run(_registry(request), entry, data))


async def stop(request: Request) -> Response:
    """Interrupt the running code (nothing happens if none runs)."""
    entry = _entry(request)
    await asyncio.to_thread(entry.item.stop)
    return JSONResponse({"stopped": entry.busy})


async def keepalive(request: Request) -> Response:
    """Count the computer as used now."""
    entry = _entry(request)
    return JSONResponse(describe(entry))


async def close(request: Request) -> Response:
    """Close the computer and free its sandbox."""
    entry = _registry(request).remove(owner(request), request.path_params["id"])
    await asyncio.to_thread(close_computer, entry.item)
    return JSONResponse({"closed": entry.id})


def close_computer(computer: Computer) -> None:
    """Stop what runs and free the sandbox."""
    computer.stop()
    computer.close()


def sandbox_file(path: str) -> str:
    """A path relative to the sandbox's workspace; BadRequest for one that leaves it."""
    parts = path.split("/")
    if not path or "\0" in path or path.startswith("/") or ".." in parts:
        raise BadRequest(f"file path {path!r} must be relative to the sandbox's workspace, "
                         "without '..' or a leading '/'; e.g. data/input.csv")
    return posixpath.normpath(path)


async def upload(request: Request) -> Response:
    """Write the body to a file of the sandbox."""
    entry = _entry(request)
    path = sandbox_file(request.path_params["path"])
    content = await request.body()
    written = await asyncio.to_thread(lambda: entry.item.files.write(path, content))
    return JSONResponse({"path": written, "size": len(content)}, status_code=201)


async def download(request: Request) -> Response:
    """The bytes of a file of the sandbox."""
    entry = _entry(request)
    path = sandbox_file(request.path_params["path"])
    content = await asyncio.to_thread(lambda: entry.item.files.read(path))
    return Response(content, media_type="application/octet-stream")


async def _frame(entry: Entry[Computer], sender: Sender, data: dict[str, Any],
                 running: asyncio.Task[None] | None) -> asyncio.Task[None] | None:
    """One WebSocket frame: a run request, or the stop command."""
    if data.get("command") == "stop":
        await asyncio.to_thread(entry.item.stop)
        return None
    if running is not None and not running.done():
        raise Busy(f"computer {entry.id} is running; wait for 'complete' or send {{\"command\": \"stop\"}}")
    registry = state(sender.websocket).computers
    pump = await _started_run(registry, entry, check_fields(data, RUN_FIELDS, required=("language", "code")))
    return asyncio.create_task(pump_to_socket(sender, pump, COMPLETE))


async def socket(websocket: WebSocket) -> None:
    """Runs over one WebSocket: run requests in, chunk frames out, `complete` after each run."""
    await serve_socket(websocket, _registry(websocket), _frame, lambda entry: entry.item.stop())


def routes() -> list[BaseRoute]:
    """The computer routes."""
    return [
        Route("/computers", create, methods=["POST"]),
        Route("/computers", listing, methods=["GET"]),
        Route("/computers/{id}", show, methods=["GET"]),
        Route("/computers/{id}", close, methods=["DELETE"]),
        Route("/computers/{id}/run", run, methods=["POST"]),
        Route("/computers/{id}/stop", stop, methods=["POST"]),
        Route("/computers/{id}/keepalive", keepalive, methods=["POST"]),
        Route("/computers/{id}/files/{path:path}", upload, methods=["PUT"]),
        Route("/computers/{id}/files/{path:path}", download, methods=["GET"]),
        WebSocketRoute("/computers/{id}/ws", socket),
    ]
