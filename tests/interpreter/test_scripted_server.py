"""The scripted server speaks OpenAI's protocol well enough for real litellm."""

from __future__ import annotations

import os

import pytest

from orchestrator.models.scripted_server import ScriptedServer, http_error, text, tool_call

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="module")
def litellm():  # type: ignore[no-untyped-def]
    import litellm as lib

    lib.suppress_debug_info = True
    return lib


def _call(litellm, srv: ScriptedServer, stream: bool, **kw):  # type: ignore[no-untyped-def]
    return litellm.completion(model="openai/scripted", api_base=srv.url, api_key="sk-test",
                              messages=[{"role": "user", "content": "hi"}], stream=stream,
                              num_retries=0, **kw)


def test_streams_text_in_pieces(litellm) -> None:  # type: ignore[no-untyped-def]
    with ScriptedServer([text("Hello, world! A longer reply.", chunk_size=5)]) as srv:
        pieces = [c.choices[0].delta.content for c in _call(litellm, srv, True) if c.choices]
    assert "".join(p for p in pieces if p) == "Hello, world! A longer reply."
    assert len([p for p in pieces if p]) >= 5


def test_tool_call_streams_as_deltas_and_records_request(litellm) -> None:  # type: ignore[no-untyped-def]
    with ScriptedServer([tool_call("python", "print(2 + 2)")]) as srv:
        chunks = list(_call(litellm, srv, True, tools=[{"type": "function", "function": {
            "name": "execute", "parameters": {"type": "object", "properties": {}}}}]))
        built = litellm.stream_chunk_builder(chunks)
        assert srv.requests[0]["tools"][0]["function"]["name"] == "execute"
    call = built.choices[0].message.tool_calls[0]
    assert call.function.name == "execute"
    assert '"print(2 + 2)"' in call.function.arguments


def test_non_streamed_reply_and_usage(litellm) -> None:  # type: ignore[no-untyped-def]
    with ScriptedServer([text("plain", usage=(11, 3))]) as srv:
        response = _call(litellm, srv, False)
    assert response.choices[0].message.content == "plain"
    assert response.usage.prompt_tokens == 11 and response.usage.completion_tokens == 3


def test_injected_errors_map_to_litellm_exceptions(litellm) -> None:  # type: ignore[no-untyped-def]
    with ScriptedServer([http_error(500), http_error(429)], context_window=None) as srv:
        with pytest.raises(litellm.InternalServerError):
            _call(litellm, srv, False)
        with pytest.raises(litellm.RateLimitError):
            _call(litellm, srv, False)


def test_context_window_refusal_is_openais_error(litellm) -> None:  # type: ignore[no-untyped-def]
    with ScriptedServer([text("never")], context_window=5) as srv:
        with pytest.raises(litellm.ContextWindowExceededError):
            litellm.completion(model="openai/scripted", api_base=srv.url, api_key="x", num_retries=0,
                               messages=[{"role": "user", "content": "x" * 400}])
        assert srv.served == 0


def test_exhausted_script_says_so(litellm) -> None:  # type: ignore[no-untyped-def]
    with ScriptedServer([]) as srv:
        with pytest.raises(litellm.BadRequestError, match="script exhausted"):
            _call(litellm, srv, False)
