"""The embedded model samples against loops: a little temperature and llama.cpp's repeat penalty."""

from __future__ import annotations

from pathlib import Path

from orchestrator.models.base import TextDelta, Usage
from orchestrator.models.litellm_client import ModelConfig
from orchestrator.models.local import (
    LOCAL_SAMPLING,
    LOCAL_TEMPERATURE,
    LocalModelClient,
    LocalModelConfig,
    LocalModelServer,
    client_for,
)
from orchestrator.models.scripted_server import ScriptedServer, text
from orchestrator.settings import resolve


def test_local_client_sends_the_repeat_penalty_and_a_small_temperature(tmp_path: Path) -> None:
    settings = resolve({"local": True, "data_dir": tmp_path}, env={}, config_file=tmp_path / "none.toml")
    client, server = client_for(settings)
    assert server is not None and client.config.temperature == LOCAL_TEMPERATURE > 0
    chosen = resolve({"local": True, "temperature": 0.7, "data_dir": tmp_path}, env={},
                     config_file=tmp_path / "none.toml")
    assert client_for(chosen)[0].config.temperature == 0.7  # a user's choice is kept
    with ScriptedServer([text("ok")]) as srv:  # the same client, its server swapped for a scripted one
        config = ModelConfig("openai/local", api_base=srv.url, api_key="local",
                             temperature=client.config.temperature)
        list(LocalModelClient(config, server).stream([{"role": "user", "content": "hi"}]))
        [body] = srv.requests
    assert body["repeat_penalty"] > 1 and body["temperature"] == LOCAL_TEMPERATURE
    assert {k: body[k] for k in LOCAL_SAMPLING} == LOCAL_SAMPLING


def test_the_embedded_server_takes_the_sampling_options() -> None:
    with LocalModelServer(LocalModelConfig(context=2048)) as server:
        config = ModelConfig(server.model, api_base=server.api_base, api_key="local", max_output_tokens=16,
                             temperature=LOCAL_TEMPERATURE)
        events = list(LocalModelClient(config, server).stream([{"role": "user", "content": "Say banana."}]))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip()
    assert isinstance(events[-1], Usage) and 0 < events[-1].completion_tokens <= 16
