"""LMC_ALLOW_MODEL_REQUESTS=0: a model request to anything but this machine is refused before it is sent."""

from __future__ import annotations

import pytest

from orchestrator.errors import ModelRequestRefused
from orchestrator.models.base import TextDelta
from orchestrator.models.guard import VARIABLE, is_loopback, requests_allowed
from orchestrator.models.litellm_client import ModelClient, ModelConfig
from orchestrator.models.scripted_server import ScriptedServer, text

ASK = [{"role": "user", "content": "hi"}]


def test_the_test_suite_runs_with_the_guard_on() -> None:
    assert not requests_allowed(), f"tests/interpreter/conftest.py must set {VARIABLE}=0"


@pytest.mark.parametrize("api_base", [None, "https://api.openai.com/v1", "http://10.0.0.7:8000/v1"])
def test_a_request_that_would_leave_the_machine_is_refused(api_base: str | None) -> None:
    client = ModelClient(ModelConfig("openai/gpt-4o", api_base=api_base, api_key="sk-not-a-key", max_retries=0))
    with pytest.raises(ModelRequestRefused, match=f"{VARIABLE}=0 allows only servers on this machine") as info:
        list(client.stream(ASK))
    assert "openai/gpt-4o" in str(info.value) and "unset LMC_ALLOW_MODEL_REQUESTS" in str(info.value)


def test_loopback_servers_still_answer() -> None:
    with ScriptedServer([text("local answer")]) as srv:
        client = ModelClient(ModelConfig("openai/scripted", api_base=srv.url, api_key="k", mode="tools"))
        events = list(client.stream(ASK))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "local answer"


def test_with_the_guard_off_the_request_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "1")
    assert requests_allowed()
    # a non-loopback address that refuses at once: the error is the connection's, not the guard's
    client = ModelClient(ModelConfig("openai/x", api_base="http://0.0.0.0:9/v1", api_key="k", max_retries=0))
    with pytest.raises(Exception) as info:
        list(client.stream(ASK))
    assert not isinstance(info.value, ModelRequestRefused)


def test_which_hosts_are_this_machine() -> None:
    assert is_loopback("http://127.0.0.1:8000/v1") and is_loopback("http://localhost/v1")
    assert is_loopback("http://[::1]:80/v1") and is_loopback("127.0.0.5:80")
    assert not is_loopback(None) and not is_loopback("https://api.anthropic.com")
    assert not is_loopback("http://127.0.0.1.evil.example/v1")
