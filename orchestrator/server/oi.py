"""Open Interpreter's WebSocket protocol at `/`, so OI clients (e.g. the 01) can use lmc serve.

The protocol (interpreter/core/async_core.py in open-interpreter): the client's first message is
`{"auth": token}` (answered `{"auth": true}`; a wrong one `{"auth": false}` and the socket
closes), unless the upgrade carried `Authorization: Bearer`. A user message arrives as
`{"role": "user", "start": true}`, content chunks, `{"role": "user", "end": true}`; a command
the same way with `"type": "command"` and content `stop` or `go` (run the pending code). The
server streams OI chunks (start/end flags, console `output`, base64 images) and ends each
response with `{"role": "server", "type": "status", "content": "complete"}`, also right after a
confirmation, where it is the client's turn: `go` runs the code, a new message declines it.

`?conversation=<id>` joins a conversation made with POST /conversations; without it the
connection gets a new one with the server's default settings.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from lmc.messages import Chunk, Message
from lmc.oi import to_oi
from orchestrator.server.conversation import Chat
from orchestrator.server.conversations import chat_stream, new_conversation
from orchestrator.server.endpoint import parse_object
from orchestrator.server.errors import BadRequest, ServerError, as_server_error
from orchestrator.server.guard import OWNER
from orchestrator.server.registry import Entry
from orchestrator.server.state import ServerState, state

log = logging.getLogger(__name__)

COMPLETE = {"role": "server", "type": "status", "content": "complete"}
#: how long a client has to send its auth message
AUTH_WAIT = 30.0
POLICY_VIOLATION = 1008


def oi_chunk(chunk: Chunk) -> dict[str, Any] | None:
    """Open Interpreter's form of one of our chunks (None: nothing OI would show)."""
    flags = {name: True for name, on in (("start", chunk.start), ("end", chunk.end)) if on}
    if chunk.content is None:
        head: dict[str, Any] = {"role": chunk.role, "type": chunk.type}
        if chunk.format is not None:
            head["format"] = chunk.format
        return {**head, **flags}
    converted = to_oi([Message(chunk.role, chunk.type, chunk.content, chunk.format)])
    if not converted:  # a successful exit status, which OI leaves out
        return {"role": chunk.role, "type": chunk.type, "format": "output", **flags} if flags else None
    return {**converted[0], **flags}


class OISession:
    """One OI client: its user message being accumulated, its conversation, the running response."""

    def __init__(self, websocket: WebSocket, server: ServerState, owner: str) -> None:
        self.websocket, self.server, self.owner = websocket, server, owner
        self.entry: Entry[Chat] | None = None
        self.parts: list[str] = []
        self.kind = "message"
        self.running: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def send(self, data: dict[str, Any]) -> None:
        """One JSON frame."""
        async with self._lock:
            await self.websocket.send_text(json.dumps(data))

    def conversation(self) -> Entry[Chat]:
        """The conversation of this connection, made on first use."""
        if self.entry is None:
            wanted = self.websocket.query_params.get("conversation")
            registry = self.server.conversations
            if wanted is not None:
                self.entry = registry.get(self.owner, wanted)
            else:
                made = new_conversation(self.server, self.owner, {})
                self.entry = registry.add(self.owner, made, self.server.config.idle_timeout, id=made.id)
        return self.entry

    async def take(self, data: dict[str, Any]) -> None:
        """One client chunk."""
        if "auth" in data:  # already authenticated; OI clients may repeat it
            await self.send({"auth": True})
            return
        if data.get("start"):
            self.parts, self.kind = [], str(data.get("type") or "message")
        if data.get("type") is not None:
            self.kind = str(data["type"])
        content = data.get("content")
        if isinstance(content, str):
            self.parts.append(content)
        if data.get("end"):
            await self._finish("".join(self.parts))

    async def _interrupt(self) -> None:
        """A new user message stops the response in progress (declining code that waits), as in OI.

        OI stops it when the message starts; here when it ends, so that a `go` command (which
        also starts with a start chunk) reaches the code waiting for it.
        """
        if self.running is not None and not self.running.done():
            await asyncio.to_thread(self.conversation().item.stop)
            await self.running

    async def _finish(self, text: str) -> None:
        entry = self.conversation()
        if self.kind == "command":
            if text == "stop":
                await asyncio.to_thread(entry.item.stop)
            elif text == "go":
                entry.item.decide(True)
            else:
                raise BadRequest(f"unknown command {text!r}; Open Interpreter's commands are: stop, go")
            return
        if self.kind != "message":
            raise BadRequest(f"a user chunk of type {self.kind!r}; send type 'message' or 'command'")
        await self._interrupt()
        self.running = asyncio.create_task(self._respond(entry, text))

    async def _respond(self, entry: Entry[Chat], text: str) -> None:
        pump = chat_stream(self.server.conversations, entry, text)
        try:
            async for chunk in pump.items():
                if chunk.type == "status" and chunk.content == "complete":
                    continue  # sent below, exactly as OI writes it
                converted = oi_chunk(chunk)
                if converted is not None:
                    await self.send(converted)
                if chunk.type == "confirmation":
                    await self.send(COMPLETE)  # the client's turn: `go`, or a new message to decline
        except Exception as exc:
            await self.send({"role": "server", "type": "error", "content": str(as_server_error(exc))})
        finally:
            pump.abandon()
        await self.send(COMPLETE)


async def _authenticate(websocket: WebSocket, server: ServerState) -> str | None:
    """The owner of the connection: from its Bearer header, or from its first message `{"auth": token}`."""
    owner = websocket.scope.get(OWNER)
    if isinstance(owner, str):
        return owner
    try:
        message = await asyncio.wait_for(websocket.receive_text(), AUTH_WAIT)
        presented = parse_object(message, "the auth message").get("auth")
    except (TimeoutError, BadRequest, KeyError, RuntimeError):
        presented = None
    owner = server.tokens.owner(presented if isinstance(presented, str) else None)
    await websocket.send_text(json.dumps({"auth": owner is not None}))
    if owner is None:
        log.info("refused an Open Interpreter client without a valid auth message")
        await websocket.close(POLICY_VIOLATION, "send {\"auth\": \"<token>\"} first")
    return owner


async def socket(websocket: WebSocket) -> None:
    """Serve one Open Interpreter client."""
    server = state(websocket)
    await websocket.accept()
    owner = await _authenticate(websocket, server)
    if owner is None:
        return
    session = OISession(websocket, server, owner)
    try:
        while True:
            text = await websocket.receive_text()
            try:
                await session.take(parse_object(text, "the chunk"))
            except ServerError as exc:
                await session.send({"role": "server", "type": "error", "content": str(exc)})
                await session.send(COMPLETE)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if session.running is not None and not session.running.done():
            await asyncio.to_thread(session.conversation().item.stop)


def routes() -> list[BaseRoute]:
    """The Open Interpreter route."""
    return [WebSocketRoute("/", socket)]
