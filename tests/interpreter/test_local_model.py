"""The embedded SmolLM2 model, served for real by xllamacpp in a child process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import LocalModelError
from orchestrator.models.base import TextDelta, Usage
from orchestrator.models.litellm_client import ModelClient, ModelConfig
from orchestrator.models.local import LocalModelConfig, LocalModelServer, bundled_gguf
from orchestrator.session.interpreter import Interpreter
from orchestrator.settings import resolve


def test_bundled_gguf_is_found_in_the_wheel() -> None:
    path = bundled_gguf()
    assert path.name.endswith(".gguf") and path.stat().st_size > 50_000_000


def test_local_server_answers_through_litellm_and_stops() -> None:
    server = LocalModelServer(LocalModelConfig(context=2048))
    with server:
        client = ModelClient(ModelConfig(server.model, api_base=server.api_base, api_key="local",
                                         max_output_tokens=24))
        events = list(client.stream([{"role": "user", "content": "Say hello."}]))
        proc = server._proc
    reply = "".join(e.text for e in events if isinstance(e, TextDelta))
    usage = events[-1]
    assert reply.strip(), "the local model produced no text"
    assert isinstance(usage, Usage) and 0 < usage.completion_tokens <= 24
    assert proc is not None and proc.returncode is not None, "the server process outlived the session"


def test_missing_gguf_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="does not exist"):
        LocalModelServer(LocalModelConfig(gguf=tmp_path / "nope.gguf")).start()


def test_broken_gguf_reports_the_server_log(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model" * 100)
    with pytest.raises(LocalModelError, match="did not start"):
        LocalModelServer(LocalModelConfig(gguf=bad, startup_timeout=20)).start()


def test_interpreter_on_the_embedded_model_end_to_end(tmp_path: Path, computer: Any) -> None:
    settings = resolve({"local": True, "auto_run": True, "max_steps": 2, "data_dir": tmp_path},
                       env={}, config_file=tmp_path / "no-config.toml")
    interpreter = Interpreter(settings, computer=computer)
    with interpreter:
        chunks = list(interpreter.chat("In one short sentence: what color is the sky?", stream=True))
        server = interpreter._local
        assert server is not None and server._proc is not None
        proc = server._proc
    said = "".join(c.content for c in chunks if c.type == "message" and isinstance(c.content, str))
    assert said.strip(), "the embedded model said nothing"
    assert chunks[-1].type == "status" and chunks[-1].content in ("complete", "max_steps")
    assert proc.returncode is not None, "the model server outlived the session"
    assert Interpreter.load(interpreter.id, settings).messages == interpreter.messages
