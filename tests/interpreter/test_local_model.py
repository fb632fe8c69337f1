"""The embedded SmolLM2 model, served for real by xllamacpp in a child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import LocalModelError
from orchestrator.local_model import LocalModelConfig, LocalModelServer, bundled_gguf
from orchestrator.model import ModelClient, ModelConfig, TextDelta, Usage


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
