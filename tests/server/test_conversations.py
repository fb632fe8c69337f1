"""Conversations over `lmc serve` with a scripted model over real HTTP: stream, approve, decline,
stop, transcript, delete; through the client (SSE) and a WebSocket."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from orchestrator.client import RemoteConversation
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.server.errors import BackendFailed, NothingPending
from tests.server.helpers import Served, frames_until_status, printed

STOP_DEADLINE = 30.0


def conversation(served: Served, model: ScriptedServer, *, name: str = "openai/scripted",
                 **settings: Any) -> RemoteConversation:
    """A remote conversation with the scripted model (tools mode, answering as `name`), auto_run off unless given."""
    values = {"api_base": model.url, "api_key": "sk-test", "mode": "tools", "auto_run": False, **settings}
    return RemoteConversation(served.url, served.tokens[0], model=name, **values)


def test_approve_runs_the_code_and_the_transcript_has_it(served: Served, model: ScriptedServer) -> None:
    model.add(tool_call("python", "print(6 * 7)"), text("It is 42."))
    with conversation(served, model) as chat:
        with pytest.raises(NothingPending):
            chat.approve()
        seen = []
        for chunk in chat.chat("What is 6 times 7?", stream=True):
            seen.append(chunk)
            if chunk.type == "confirmation":
                assert chunk.content is not None and chunk.content.content == "print(6 * 7)"  # type: ignore[union-attr]
                chat.approve()
        output = "".join(str(c.content) for c in seen if c.format == "output" and c.content)
        assert output == "42\n"
        assert (seen[-1].role, seen[-1].type, seen[-1].content) == ("server", "status", "complete")
        transcript = chat.messages
        assert [m.type for m in transcript] == ["message", "code", "confirmation", "console", "message", "status"]
        assert transcript[0].content == "What is 6 times 7?" and transcript[4].content == "It is 42."
        assert model.requests[-1]["messages"][-1]["role"] == "tool"  # the model got the output back
    assert httpx.get(f"{served.url}/conversations/{chat.id}", headers=served.headers()).status_code == 404


def test_decline_skips_the_code(served: Served, model: ScriptedServer) -> None:
    model.add(tool_call("python", "print('ran')"), text("As you wish."))
    with conversation(served, model) as chat:
        seen = []
        for chunk in chat.chat("Run something", stream=True):
            seen.append(chunk)
            if chunk.type == "confirmation":
                chat.decline()
        assert not any(c.content == "ran\n" for c in seen)
        assert any(c.type == "error" and c.format == "interrupted" for c in seen)
        assert "declined" in json.dumps(model.requests[-1]["messages"][-1])


def test_stop_ends_a_chat_whose_code_runs(served: Served, model: ScriptedServer) -> None:
    model.add(tool_call("python", "import time\nprint('started', flush=True)\ntime.sleep(120)"), text("unused"))
    with conversation(served, model, auto_run=True) as chat:
        seen: list[Any] = []
        stopped_at = None
        for chunk in chat.chat("Sleep", stream=True):
            seen.append(chunk)
            if stopped_at is None and "started" in "".join(str(c.content) for c in seen if c.format == "output"):
                stopped_at = time.monotonic()
                chat.stop()
        assert stopped_at is not None and time.monotonic() - stopped_at < STOP_DEADLINE
        assert (seen[-1].type, seen[-1].content) == ("status", "stopped")
        assert len(model.requests) == 1  # stopped: the model was not asked again


def test_a_stop_right_after_the_message_is_not_lost(served: Served, model: ScriptedServer, tmp_path: Any) -> None:
    # The message claims the conversation and its chat starts on a worker thread; a stop that lands
    # before that thread made the chat used to be forgotten when the chat began, and the code ran.
    marker = tmp_path / "ran"
    model.add(tool_call("shell", f"sleep 3; touch {marker}"), text("done"))
    with conversation(served, model, auto_run=True) as chat:
        with connect(f"{served.ws}/conversations/{chat.id}/ws", additional_headers=served.headers()) as ws:
            ws.send(json.dumps({"content": "go"}))
            ws.send(json.dumps({"command": "stop"}))
            frames = frames_until_status(ws)
            assert frames[-1]["content"] == "stopped"
        time.sleep(4)  # the code, had it run, would have made the marker by now
        assert not marker.exists()


def test_a_stop_before_the_chat_is_made_ends_it_unasked(model: ScriptedServer, tmp_path: Any) -> None:
    """The served Conversation itself: claimed (begin), stopped, then made: no model call, a `stopped`
    status (which the WebSocket client waits for); the next claimed chat runs."""
    from orchestrator.server.conversation import Conversation
    from orchestrator.session.interpreter import Interpreter
    from orchestrator.settings import resolve

    settings = resolve({"model": "openai/scripted", "api_base": model.url, "api_key": "sk-test",
                        "mode": "tools", "auto_run": True, "data_dir": tmp_path},
                       env={}, config_file=tmp_path / "none.toml")
    model.add(text("hello"))
    served = Conversation(Interpreter(settings))
    try:
        served.begin()
        served.stop()
        chunks = list(served.chat("hi"))
        assert [(c.type, c.content) for c in chunks if c.role == "server"] == [("status", "stopped")]
        assert model.requests == [] and served.messages[0].content == "hi"  # the message is kept
        served.begin()
        said = "".join(str(c.content) for c in served.chat("hi") if c.type == "message" and c.content)
        assert said == "hello" and len(model.requests) == 1
    finally:
        served.close()


def test_a_conversation_over_a_websocket(served: Served, model: ScriptedServer) -> None:
    model.add(tool_call("python", "print(2 + 2)"), text("Four."))
    with conversation(served, model) as chat:
        with connect(f"{served.ws}/conversations/{chat.id}/ws", additional_headers=served.headers()) as ws:
            ws.send(json.dumps({"content": "2 + 2?"}))
            frames = [json.loads(ws.recv(timeout=60))]
            while frames[-1].get("type") != "confirmation":
                frames.append(json.loads(ws.recv(timeout=60)))
            ws.send(json.dumps({"content": "again"}))  # one chat at a time
            assert json.loads(ws.recv(timeout=60))["error"] == "busy"
            ws.send(json.dumps({"command": "approve"}))
            frames = frames_until_status(ws)
            assert printed(frames) == "4\n" and frames[-1]["content"] == "complete"
            ws.send(json.dumps({"command": "fly"}))
            assert json.loads(ws.recv(timeout=60)) == {
                "error": "bad_request", "message": "unknown command 'fly'; known: stop, approve, decline"}


def test_a_model_that_fails_is_a_clear_error(served: Served, model: ScriptedServer) -> None:
    with conversation(served, model, api_base="http://192.0.2.1:9/v1") as chat:  # not this machine: refused
        with pytest.raises(BackendFailed, match="ModelRequestRefused") as failed:
            chat.chat("hello")
        assert "Traceback" not in str(failed.value)
        assert [m.type for m in chat.messages] == ["message"]  # the conversation stays usable


def test_usage_grows_with_each_exchange_and_shows_while_the_chat_runs(served: Served, model: ScriptedServer) -> None:
    model.add(tool_call("python", "print(1)", usage=(100, 10)), text("one", usage=(120, 5)),
              text("two", usage=(200, 7)))
    with conversation(served, model, name="openai/gpt-4o", max_tokens=10_000, max_cost=1.0) as chat:
        assert chat.usage["total"]["steps"] == 0
        during: list[dict[str, Any]] = []
        for chunk in chat.chat("first", stream=True):
            if chunk.type == "confirmation" and chunk.end:
                during.append(chat.usage)  # read while the chat waits for the decision
                chat.approve()
        assert during[0]["running"] and (during[0]["chat"]["steps"], during[0]["chat"]["tokens"]) == (1, 110)
        first = chat.usage
        assert not first["running"] and (first["chat"]["steps"], first["total"]["tokens"]) == (2, 235)
        assert first["total"]["cost"] > 0  # gpt-4o has a price in litellm's table
        assert first["budget"] == {"max_steps": 20, "max_tokens": 10_000, "max_cost": 1.0}
        chat.chat("second")
        second = chat.usage
        assert (second["chat"]["steps"], second["chat"]["tokens"]) == (1, 207)
        assert (second["total"]["steps"], second["total"]["tokens"]) == (3, 442)
        assert second["total"]["cost"] > first["total"]["cost"]
        assert second["total"]["wall_time"] > first["total"]["wall_time"]
        listed = httpx.get(f"{served.url}/conversations", headers=served.headers()).json()
        assert [c["usage"]["total"]["tokens"] for c in listed if c["id"] == chat.id] == [442]
