"""The cheap step: replies read off the wire give the same events as litellm's wrapper, on one connection."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from orchestrator.models.base import ModelEvent
from orchestrator.models.litellm_client import ModelClient, ModelConfig, load_litellm
from orchestrator.models.scripted_server import Reply, ScriptedServer, ToolCall, text, tool_call
from orchestrator.session.pump import cancellable

REPLIES = [
    text("Hello there, friend. " * 5, chunk_size=3, usage=(30, 5)),
    tool_call("python", "print('x' * 40)", content="Let me count."),
    Reply(tool_calls=(ToolCall("execute", '{"language": "shell", "code": "ls"}', id="call_a"),
                      ToolCall("execute", '{"language": "python", "code": "1 + 1"}', id="call_b"))),
]


def _events(server: ScriptedServer, reply: Reply) -> list[ModelEvent]:
    server.add(reply)
    client = ModelClient(ModelConfig("openai/scripted", api_base=server.url, api_key="sk-test", mode="tools"))
    return list(client.stream([{"role": "user", "content": "go"}], tools=[]))


@pytest.mark.parametrize("reply", REPLIES, ids=["text", "text-then-call", "two-calls"])
def test_the_wire_and_litellms_wrapper_give_the_same_events(server: ScriptedServer, reply: Reply,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    wire = _events(server, reply)
    monkeypatch.setattr(load_litellm(), "success_callback", [lambda *args: None])  # litellm must see the chunks
    wrapped = _events(server, reply)
    assert wire == wrapped
    assert len(wire) > 3  # deltas, calls and usage, not an empty reply on both sides


def test_replies_share_one_connection(server: ScriptedServer) -> None:
    for _ in range(5):
        _events(server, text("ok"))
    # one pool per process, each response read to its end (litellm's wrapper lets openai's Stream close
    # the connection at [DONE], so it opened a new one for most replies)
    assert server.connections == 1


def test_model_readers_are_reused_not_started_per_reply() -> None:
    def readers() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "model-stream")

    stop = threading.Event()
    got: list[Any] = []
    for i in range(30):
        got.extend(cancellable(iter([i, i + 1]), stop))
    assert got == [x for i in range(30) for x in (i, i + 1)]
    assert readers() <= 2  # one reader served them all (a second may still be finishing its last job)
