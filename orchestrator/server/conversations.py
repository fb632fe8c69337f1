"""Conversations: a model with a sandbox, driven remotely.

    POST   /conversations                 {"model": "openai/gpt-4o", "api_base": ..., "api_key": ...,
                                           "auto_run": false, "sandbox": "docker", "max_steps": 20,
                                           "desktop": true, ...}
    GET    /conversations                 this token's conversations
    GET    /conversations/{id}
    GET    /conversations/{id}/messages   the transcript
    POST   /conversations/{id}/messages   {"content": "..."} -> SSE of the chat's chunks
    WS     /conversations/{id}/ws         ?format=json|msgpack; send {"content": ...} or {"command": ...}
    POST   /conversations/{id}/approve    run the code of the pending confirmation
    POST   /conversations/{id}/decline
    POST   /conversations/{id}/stop
    POST   /conversations/{id}/keepalive
    DELETE /conversations/{id}            close it and delete its saved transcript
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from lmc.messages import Chunk
from orchestrator.server.conversation import Chat
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
from orchestrator.server.errors import BadRequest
from orchestrator.server.registry import Entry, Registry
from orchestrator.server.state import ServerState, state
from orchestrator.server.streaming import Pump
from orchestrator.server.wire import to_json

NUMBER = (int, float)
#: what a client may set; the rest (data_dir, ray, the embedded model) is the server's business
SETTINGS_FIELDS: dict[str, type | tuple[type, ...]] = {
    "model": str, "api_base": str, "api_key": str, "mode": str, "temperature": NUMBER,
    "context_window": int, "max_output_tokens": int, "auto_run": bool, "sandbox": str, "max_steps": int,
    "max_tokens": int, "max_cost": NUMBER, "system_message": str,
}
CREATE_FIELDS = {**SETTINGS_FIELDS, "idle_timeout": NUMBER, "desktop": bool}
SEND_FIELDS: dict[str, type | tuple[type, ...]] = {"content": str}
COMMANDS = ("stop", "approve", "decline")


def describe(entry: Entry[Chat]) -> dict[str, Any]:
    """What GET says about a conversation; `usage` is Interpreter.usage (session/usage.py), `budget` its limits."""
    pending = entry.item.pending
    settings = entry.item.settings
    usage = entry.item.usage
    budget = {"max_steps": settings.max_steps, "max_tokens": settings.max_tokens, "max_cost": settings.max_cost}
    return {"id": entry.id, "model": settings.llm.model, "sandbox": settings.sandbox,
            "auto_run": settings.auto_run, "running": entry.busy, "idle_timeout": entry.idle_timeout,
            "desktop": has_desktop(entry.item),
            "pending": to_json(pending) if pending is not None else None,
            "budget": usage["budget"] if usage is not None else budget, "usage": usage}


def new_conversation(server: ServerState, owner_id: str, fields: dict[str, Any], desktop: bool = False) -> Chat:
    """A conversation with the server's default settings, the client's over them; with `desktop`, in OS
    mode on a desktop of its own (this process's, or on Ray a device actor's)."""
    root = server.config.data_dir or server.settings.data_dir
    settings = server.settings.replace(**{k: v for k, v in fields.items() if v is not None})
    settings = settings.replace(data_dir=root / "serve" / owner_id)
    if desktop:
        return server.hosting.desktop_conversation(settings)
    return server.hosting.conversation(settings)


def _registry(connection: Request | WebSocket) -> Registry[Chat]:
    return state(connection).conversations


def _entry(request: Request) -> Entry[Chat]:
    return _registry(request).get(owner(request), request.path_params["id"])


async def create(request: Request) -> Response:
    """Start a conversation (the model and the sandbox start on the first message)."""
    data = await json_body(request, CREATE_FIELDS, required=("model",))
    if data.get("api_base") is not None and data.get("api_key") is None:
        raise BadRequest("give api_key with api_base: the server's own keys go only to the providers' "
                         "own URLs, never to an api_base a client chose")
    if data["model"].endswith(".gguf"):
        raise BadRequest(f"model {data['model']!r} is a file on the server; name a hosted model "
                         "(e.g. openai/gpt-4o) with its api_base and api_key")
    server = state(request)
    timeout = idle_timeout(data, server.config.idle_timeout)
    fields = {k: v for k, v in data.items() if k not in ("idle_timeout", "desktop")}
    conversation = await asyncio.to_thread(new_conversation, server, owner(request), fields,
                                           bool(data.get("desktop")))
    entry = _registry(request).add(owner(request), conversation, timeout, id=conversation.id)
    return JSONResponse(describe(entry), status_code=201)


async def listing(request: Request) -> Response:
    """This token's conversations."""
    return JSONResponse([describe(e) for e in _registry(request).owned(owner(request))])


async def show(request: Request) -> Response:
    """One conversation."""
    return JSONResponse(describe(_entry(request)))


async def transcript(request: Request) -> Response:
    """The conversation's messages so far."""
    entry = _entry(request)
    return JSONResponse([to_json(m) for m in entry.item.messages])


def chat_stream(registry: Registry[Chat], entry: Entry[Chat], content: str) -> Pump[Chunk]:
    """Claim the conversation (Busy if it is chatting) and run one chat on a thread."""
    return start_stream(registry, entry, lambda: entry.item.chat(content), entry.item.stop, entry.item.begin)


async def send(request: Request) -> Response:
    """Send a user message; the chat's chunks as server-sent events."""
    entry = _entry(request)
    data = await json_body(request, SEND_FIELDS, required=("content",))
    return sse_response(chat_stream(_registry(request), entry, data["content"]))


async def command(entry: Entry[Chat], name: str) -> None:
    """Approve, decline or stop."""
    if name == "stop":
        await asyncio.to_thread(entry.item.stop)
    else:
        entry.item.decide(name == "approve")


async def _command_route(request: Request) -> Response:
    entry = _entry(request)
    name = request.url.path.rsplit("/", 1)[1]
    await command(entry, name)
    return JSONResponse(describe(entry))


async def keepalive(request: Request) -> Response:
    """Count the conversation as used now."""
    return JSONResponse(describe(_entry(request)))


async def delete(request: Request) -> Response:
    """Close the conversation and delete its saved transcript."""
    entry = _registry(request).remove(owner(request), request.path_params["id"])
    await asyncio.to_thread(entry.item.close, True)
    return JSONResponse({"deleted": entry.id})


async def _frame(entry: Entry[Chat], sender: Sender, data: dict[str, Any],
                 running: asyncio.Task[None] | None) -> asyncio.Task[None] | None:
    """One WebSocket frame: a user message, or a command (stop, approve, decline)."""
    if "command" in data:
        if data["command"] not in COMMANDS:
            raise BadRequest(f"unknown command {data['command']!r}; known: {', '.join(COMMANDS)}")
        await command(entry, data["command"])
        return None
    content = check_fields(data, SEND_FIELDS, required=("content",))["content"]
    pump = chat_stream(state(sender.websocket).conversations, entry, content)
    return asyncio.create_task(pump_to_socket(sender, pump, None))


async def socket(websocket: WebSocket) -> None:
    """A conversation over one WebSocket: messages and commands in, chunk frames out."""
    await serve_socket(websocket, _registry(websocket), _frame, lambda entry: entry.item.stop())


def routes() -> list[BaseRoute]:
    """The conversation routes."""
    return [
        Route("/conversations", create, methods=["POST"]),
        Route("/conversations", listing, methods=["GET"]),
        Route("/conversations/{id}", show, methods=["GET"]),
        Route("/conversations/{id}", delete, methods=["DELETE"]),
        Route("/conversations/{id}/messages", transcript, methods=["GET"]),
        Route("/conversations/{id}/messages", send, methods=["POST"]),
        Route("/conversations/{id}/approve", _command_route, methods=["POST"]),
        Route("/conversations/{id}/decline", _command_route, methods=["POST"]),
        Route("/conversations/{id}/stop", _command_route, methods=["POST"]),
        Route("/conversations/{id}/keepalive", keepalive, methods=["POST"]),
        WebSocketRoute("/conversations/{id}/ws", socket),
    ]
