"""Open Interpreter's WebSocket protocol at `/`, spoken exactly as OI's clients speak it
(open-interpreter interpreter/core/async_core.py): auth first, start/end-wrapped user messages,
`go` and `stop` commands, a final server `complete` status."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from tests.server.helpers import Served

COMPLETE = {"role": "server", "type": "status", "content": "complete"}


def _conversation(served: Served, model: ScriptedServer, auto_run: bool) -> str:
    body = {"model": "openai/scripted", "api_base": model.url, "api_key": "sk-test", "mode": "tools",
            "auto_run": auto_run}
    made: str = httpx.post(f"{served.url}/conversations", json=body, headers=served.headers()).json()["id"]
    return made


@contextlib.contextmanager
def _join(served: Served, conversation: str, token: str) -> Iterator[ClientConnection]:
    """An OI client on a conversation, authenticated the OI way: `{"auth": token}` first."""
    with connect(f"{served.ws}/?conversation={conversation}") as ws:
        ws.send(json.dumps({"auth": token}))
        assert json.loads(ws.recv(timeout=30)) == {"auth": True}
        yield ws


def _send_user(ws: ClientConnection, kind: str, content: str) -> None:
    """A user message or command the way OI clients send it: start, content, end."""
    ws.send(json.dumps({"role": "user", "type": kind, "start": True}))
    ws.send(json.dumps({"role": "user", "type": kind, "content": content}))
    ws.send(json.dumps({"role": "user", "type": kind, "end": True}))


def _until_complete(ws: ClientConnection) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = []
    while True:
        chunk = json.loads(ws.recv(timeout=120))
        if chunk == COMPLETE:
            return chunks
        chunks.append(chunk)


def _output(chunks: list[dict[str, Any]]) -> str:
    return "".join(c.get("content") or "" for c in chunks if c.get("type") == "console" and c.get("format") == "output")


def test_an_oi_client_chats_approves_with_go(served: Served, model: ScriptedServer) -> None:
    model.add(tool_call("python", "print(6 * 7)"), text("It is 42."))
    conversation = _conversation(served, model, auto_run=False)
    with _join(served, conversation, served.tokens[0]) as ws:
        _send_user(ws, "message", "What is 6 times 7?")
        first = _until_complete(ws)  # ends at the confirmation: the client's turn
        assert first[-1]["type"] == "confirmation"
        assert first[-1]["content"] == {"type": "code", "format": "python", "content": "print(6 * 7)"}
        code = [c for c in first if c.get("type") == "code"]
        assert code[0].get("start") and code[-1].get("end")
        _send_user(ws, "command", "go")
        rest = _until_complete(ws)
        assert _output(rest) == "42\n", rest
        assert "It is 42." in "".join(c.get("content") or "" for c in rest if c.get("type") == "message")
        assert not any(c.get("type") == "status" for c in rest)  # OI's complete is sent alone, once


def test_an_oi_client_stops_a_running_response(served: Served, model: ScriptedServer) -> None:
    model.add(tool_call("python", "import time\nprint('started', flush=True)\ntime.sleep(120)"), text("unused"))
    conversation = _conversation(served, model, auto_run=True)
    with _join(served, conversation, served.tokens[0]) as ws:
        _send_user(ws, "message", "Sleep")
        seen: list[dict[str, Any]] = []
        while "started" not in _output(seen):
            seen.append(json.loads(ws.recv(timeout=120)))
        stopped_at = time.monotonic()
        _send_user(ws, "command", "stop")
        rest = _until_complete(ws)
        assert time.monotonic() - stopped_at < 30
        assert {"role": "server", "type": "status", "content": "stopped", "start": True, "end": True} in rest
    assert len(model.requests) == 1


def test_an_oi_client_of_another_token_cannot_join(served: Served, model: ScriptedServer) -> None:
    conversation = _conversation(served, model, auto_run=False)
    with _join(served, conversation, served.tokens[1]) as ws:
        _send_user(ws, "message", "hello")
        error = json.loads(ws.recv(timeout=30))
        assert error["role"] == "server" and error["type"] == "error"
        assert f"no conversation '{conversation}'" in error["content"]
        assert json.loads(ws.recv(timeout=30)) == COMPLETE


def test_a_new_message_declines_the_pending_code(served: Served, model: ScriptedServer) -> None:
    model.add(tool_call("python", "print('ran')"), text("Fine, nothing then."))
    conversation = _conversation(served, model, auto_run=False)
    with _join(served, conversation, served.tokens[0]) as ws:
        _send_user(ws, "message", "Run something")
        assert _until_complete(ws)[-1]["type"] == "confirmation"
        _send_user(ws, "message", "Never mind")
        declined = _until_complete(ws)
        assert any(c.get("type") == "error" and "declined" in c.get("content", "") for c in declined), declined
        answer = _until_complete(ws)
        assert "Fine, nothing then." in "".join(c.get("content") or "" for c in answer if c.get("type") == "message")
        assert "ran" not in _output(declined + answer)
