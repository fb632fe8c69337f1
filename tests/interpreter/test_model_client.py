"""The litellm model client against the scripted server: streaming, retries, error mapping."""

from __future__ import annotations

import socket

import pytest

from orchestrator.errors import MissingAPIKey, ModelUnavailable, RateLimited, UnknownModel
from orchestrator.models.base import TextDelta, ToolCall, Usage
from orchestrator.models.litellm_client import ModelClient, ModelConfig
from orchestrator.models.scripted_server import ScriptedServer, http_error, text, tool_call


def _client(srv: ScriptedServer, **kw: object) -> ModelClient:
    return ModelClient(ModelConfig("openai/scripted", api_base=srv.url, api_key="sk-test",
                                   retry_delay=0.01, **kw))  # type: ignore[arg-type]


def test_text_streams_in_deltas_then_usage(server: ScriptedServer) -> None:
    server.add(text("Hello there, friend.", chunk_size=4, usage=(30, 5)))
    events = list(_client(server).stream([{"role": "user", "content": "hi"}]))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == "Hello there, friend." and len(deltas) == 5
    assert events[-1] == Usage(30, 5, 0.0)


def test_tool_call_is_assembled_from_deltas(server: ScriptedServer) -> None:
    server.add(tool_call("python", "print('x' * 40)"))
    events = list(_client(server, mode="tools").stream([{"role": "user", "content": "go"}], tools=[]))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in calls] == [
        ("execute", '{"language": "python", "code": "print(\'x\' * 40)"}')]


def test_http_500_is_retried_then_succeeds(server: ScriptedServer) -> None:
    server.add(http_error(500), http_error(503), text("ok"))
    events = list(_client(server).stream([{"role": "user", "content": "hi"}]))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["ok"]
    assert server.served == 3


def test_rate_limit_after_all_retries_is_rate_limited(server: ScriptedServer) -> None:
    server.add(*[http_error(429)] * 3)
    with pytest.raises(RateLimited, match=r"after 3 requests \(1 \+ 2 retries\)"):
        list(_client(server, max_retries=2).stream([{"role": "user", "content": "hi"}]))
    assert server.served == 3


def test_unreachable_server_is_model_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ModelClient(ModelConfig("openai/x", api_base=f"http://127.0.0.1:{port}/v1", api_key="k",
                                     max_retries=1, retry_delay=0.01))
    with pytest.raises(ModelUnavailable) as info:
        list(client.stream([{"role": "user", "content": "hi"}]))
    assert isinstance(info.value, ConnectionError)
    message = str(info.value)  # what failed, and the requests really made (it said "failed after 4 retries")
    assert "could not connect" in message and "2 requests (1 + 1 retries)" in message and "--api-base" in message


def test_missing_key_names_env_var_and_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingAPIKey) as info:
        list(ModelClient(ModelConfig("gpt-4o")).stream([{"role": "user", "content": "hi"}]))
    assert "OPENAI_API_KEY" in str(info.value) and "--api-key" in str(info.value)


def test_unknown_provider_gives_litellm_hint() -> None:
    with pytest.raises(UnknownModel) as info:
        list(ModelClient(ModelConfig("no-such-model-xyz")).stream([{"role": "user", "content": "hi"}]))
    assert "openai/gpt-4o" in str(info.value) and isinstance(info.value, ValueError)


def test_mode_vision_window_and_cost_from_litellm() -> None:
    known = ModelClient(ModelConfig("openai/gpt-4o", api_key="k"))
    assert (known.mode, known.vision, known.context_window) == ("tools", True, 128000)
    assert known.cost(1000, 100) > 0
    unknown = ModelClient(ModelConfig("openai/scripted", api_key="k"))
    assert (unknown.mode, unknown.vision, unknown.context_window, unknown.cost(10, 10)) == (
        "text", False, 8192, 0.0)
