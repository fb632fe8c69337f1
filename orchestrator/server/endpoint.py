"""What every endpoint does alike: read and check a JSON body, find the caller, stream chunks out."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from lmc.messages import Chunk
from orchestrator.server.errors import BadRequest, ServerError, as_server_error, to_body
from orchestrator.server.guard import OWNER, refuse
from orchestrator.server.registry import Entry, Registry
from orchestrator.server.streaming import Pump
from orchestrator.server.wire import frame, sse, to_json

log = logging.getLogger(__name__)


def owner(connection: HTTPConnection) -> str:
    """The owner id of the request's token (the guard has checked it)."""
    found = connection.scope.get(OWNER)
    assert isinstance(found, str), "the guard lets no request through without an owner"
    return found


def parse_object(raw: bytes | str, what: str) -> dict[str, Any]:
    """A JSON object from a body or a frame; BadRequest saying what was wrong."""
    try:
        data = json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"{what} is not valid JSON ({exc}); send a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object, got {type(data).__name__}")
    return data


async def json_body(request: Request, known: Mapping[str, type | tuple[type, ...]],
                    required: Iterable[str] = ()) -> dict[str, Any]:
    """The request's JSON object, its fields checked against `known` (name -> type)."""
    return check_fields(parse_object(await request.body(), "the request body"), known, required)


def check_fields(data: dict[str, Any], known: Mapping[str, type | tuple[type, ...]],
                 required: Iterable[str] = ()) -> dict[str, Any]:
    """`data` if it has only known fields of the right types and every required one; BadRequest if not."""
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}")
    missing = [name for name in required if name not in data]
    if missing:
        raise BadRequest(f"missing field {missing[0]!r}; required: {', '.join(required)}")
    for name, value in data.items():
        kind = known[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        wrong_bool = isinstance(value, bool) and bool not in kinds  # JSON true is no number
        if value is not None and (wrong_bool or not isinstance(value, kinds)):
            names = " or ".join(k.__name__.replace("str", "text").replace("dict", "object") for k in kinds)
            raise BadRequest(f"field {name!r} must be {names}, got {json.dumps(value)[:80]}")
    return data


def idle_timeout(data: dict[str, Any], default: float) -> float:
    """The `idle_timeout` a create request asks for, at most the server's."""
    asked = data.get("idle_timeout")
    if asked is None:
        return default
    if asked <= 0:
        raise BadRequest(f"idle_timeout must be more than 0 s, got {asked}")
    return float(min(asked, default))


def start_stream(registry: Registry[Any], entry: Entry[Any], produce: Callable[[], Iterable[Chunk]],
                 stop: Callable[[], None], begin: Callable[[], None] = lambda: None) -> Pump[Chunk]:
    """Claim the entry (Busy if running), call `begin` (claimed: a stop from now on counts), and run
    `produce` on a thread; released when it ends."""
    registry.claim(entry)
    begin()
    return Pump(produce, on_abandon=stop, on_finish=lambda: registry.release(entry))


#: the headers of a server-sent event stream
SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store"),
               (b"x-accel-buffering", b"no")]


class EventStream(Response):
    """A pump's chunks as server-sent events: `chunk`..., `error` if it failed, one `done`.

    Chunks that came together go out in one write. Starlette's StreamingResponse would do, but it
    opens an anyio task group with two tasks per request to notice a client that leaves: on the
    hot path of every run that was a good part of the server's own time (bench_server); here one
    plain task waits for the disconnect and abandons the pump, which stops the run.
    """

    media_type = "text/event-stream"

    def __init__(self, pump: Pump[Chunk]) -> None:
        super().__init__(status_code=200)
        self.pump = pump

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Stream until the pump ends or the client leaves."""
        watcher = asyncio.create_task(self._watch(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            tail = ""
            try:
                async for batch in self.pump.batches():
                    body = "".join(sse("chunk", to_json(chunk)) for chunk in batch)
                    await send({"type": "http.response.body", "body": body.encode(), "more_body": True})
            except Exception as exc:
                tail = sse("error", to_body(reported(exc)))
            await send({"type": "http.response.body", "body": (tail + sse("done", {})).encode()})
        except OSError:  # the client left while we wrote
            pass
        finally:
            watcher.cancel()
            self.pump.abandon()

    async def _watch(self, receive: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.pump.abandon()


def sse_response(pump: Pump[Chunk]) -> EventStream:
    """The pump's chunks as server-sent events."""
    return EventStream(pump)


def reported(exc: BaseException) -> ServerError:
    """The error to send for an exception; ours in full, a bug's traceback only to the log."""
    error = as_server_error(exc)
    if error.kind == "internal":
        log.error("a request failed", exc_info=exc)
    return error


class Sender:
    """Sends on one WebSocket from several tasks, one frame at a time."""

    def __init__(self, websocket: WebSocket, msgpack: bool) -> None:
        self.websocket, self.msgpack = websocket, msgpack
        self._lock = asyncio.Lock()

    async def chunk(self, chunk: Chunk) -> None:
        """Send one chunk frame."""
        await self._send(frame(chunk, self.msgpack))

    async def error(self, exc: BaseException) -> None:
        """Send an error body frame."""
        body = to_body(reported(exc))
        await self._send(json.dumps(body) if not self.msgpack else _packed(body))

    async def json(self, data: dict[str, Any]) -> None:
        """Send a JSON text frame (a protocol's own control messages)."""
        await self._send(json.dumps(data))

    async def _send(self, data: bytes | str) -> None:
        async with self._lock:
            if isinstance(data, bytes):
                await self.websocket.send_bytes(data)
            else:
                await self.websocket.send_text(data)


def _packed(body: dict[str, str]) -> bytes:
    from lmc.codec import pack

    return pack(body)


async def pump_to_socket(sender: Sender, pump: Pump[Chunk], final: Chunk | None) -> None:
    """Send a pump's chunks, an error frame if it failed, then `final` if given."""
    try:
        async for chunk in pump.items():
            await sender.chunk(chunk)
    except Exception as exc:
        await sender.error(exc)
    finally:
        pump.abandon()
    if final is not None:
        await sender.chunk(final)


async def receive_request(websocket: WebSocket) -> dict[str, Any] | None:
    """The next request frame (JSON text, or msgpack bytes of a map); None when the client left."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    if message.get("bytes") is not None:
        from lmc.codec import unpack
        from lmc.errors import FramingError

        try:
            data = unpack(message["bytes"])
        except FramingError as exc:
            raise BadRequest(f"a binary frame must be msgpack of a map ({exc})") from None
        if not isinstance(data, dict):
            raise BadRequest(f"a frame must be a map, got {type(data).__name__}")
        return data
    return parse_object(message.get("text") or "", "the frame")


#: handles one request frame of a WebSocket: (entry, sender, frame, the running task) -> a new task or None
FrameHandler = Callable[[Entry[Any], Sender, dict[str, Any], "asyncio.Task[None] | None"],
                        Awaitable["asyncio.Task[None] | None"]]


async def serve_socket(websocket: WebSocket, registry: Registry[Any], handle: FrameHandler,
                       stop: Callable[[Entry[Any]], None]) -> None:
    """A WebSocket on one registry entry (`?format=json|msgpack`): frames in to `handle`, errors out as frames.

    An unknown id or format refuses the handshake with the error body; a client that leaves
    mid-run stops the run.
    """
    fmt = websocket.query_params.get("format", "json")
    try:
        entry = registry.get(owner(websocket), websocket.path_params["id"])
        if fmt not in ("json", "msgpack"):
            raise BadRequest(f"format must be json or msgpack, got {fmt!r}")
    except ServerError as exc:
        await refuse(websocket.scope, websocket.send, exc)
        return
    await websocket.accept()
    sender = Sender(websocket, fmt == "msgpack")
    running: asyncio.Task[None] | None = None
    try:
        while True:
            try:
                data = await receive_request(websocket)
                if data is None:
                    break
                entry.touch()
                running = await handle(entry, sender, data, running) or running
            except ServerError as exc:
                await sender.error(exc)
    except WebSocketDisconnect:
        pass
    finally:
        if running is not None and not running.done():
            await asyncio.to_thread(stop, entry)
