"""A model that misbehaves over real HTTP: silent mid-stream, cut, garbled, failing, unreachable.

Stops and deadlines act within seconds whatever the model does, and every failure
says how many requests were made and what really failed.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import ModelUnavailable, SettingsError
from orchestrator.fleet.fleet import Budget, Fleet, SessionSpec
from orchestrator.models.litellm_client import ModelClient, ModelConfig
from orchestrator.models.scripted_server import ScriptedServer, drop, http_error, malformed, stall, text
from orchestrator.models.testing import ScriptedModel
from orchestrator.session.interpreter import Interpreter
from orchestrator.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
#: a stall longer than any bound below: the old code waited it out (60 s), the new one must not
STALL = 60.0
#: how soon a stop must act on a loaded 2-core machine (the target is well under a second)
PROMPTLY = 8.0


@pytest.fixture(params=["wire", "litellm"])
def stream_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a reply is read: off the wire (openai_wire), or by litellm's wrapper (a callback is registered)."""
    if request.param == "litellm":
        from orchestrator.models.litellm_client import load_litellm

        monkeypatch.setattr(load_litellm(), "success_callback", [lambda *args: None])
    return str(request.param)


def _client(srv: ScriptedServer, **kw: Any) -> ModelClient:
    return ModelClient(ModelConfig("openai/scripted", api_base=srv.url, api_key="sk-test", retry_delay=0.01, **kw))


def _failure(srv: ScriptedServer, **kw: Any) -> str:
    with pytest.raises(ModelUnavailable) as info:
        list(_client(srv, **kw).stream([{"role": "user", "content": "hi"}]))
    return str(info.value)


def _chat_until_silent(interpreter: Interpreter, act: Callable[[], None]) -> tuple[list[Any], float]:
    """Chat; once the model's text arrived (in one chunk, then it goes silent), call `act` from another thread.

    Returns the chunks and the seconds from `act` to the end of the chat.
    """
    spoke = threading.Event()
    acted: list[float] = []

    def later() -> None:
        if spoke.wait(120):
            acted.append(time.monotonic())
            act()

    threading.Thread(target=later, daemon=True).start()
    chunks = []
    for chunk in interpreter.chat("think hard", stream=True):
        chunks.append(chunk)
        if chunk.type == "message" and chunk.role == "assistant" and chunk.content:
            spoke.set()
    assert acted, "the model never spoke"
    return chunks, time.monotonic() - acted[0]


def test_stop_cancels_a_model_silent_mid_stream(server: ScriptedServer, make_settings: Callable[..., Any],
                                                computer: Any) -> None:
    server.add(stall("Let me think about this", STALL, chunk_size=100))
    interpreter = Interpreter(make_settings(), computer=computer)
    chunks, took = _chat_until_silent(interpreter, interpreter.stop)
    assert took < PROMPTLY, f"stop() took {took:.1f}s to end a silent stream"
    assert chunks[-1].type == "status" and chunks[-1].content == "stopped"
    said = [m for m in interpreter.messages if m.role == "assistant"]
    assert said and said[0].content == "Let me think about this"  # what came is kept, whole
    server.add(text("back"))  # the conversation stays usable
    assert interpreter.chat("again")[-1].content == "complete"


def test_stop_cancels_any_model_silent_mid_stream(make_settings: Callable[..., Any], computer: Any) -> None:
    model = ScriptedModel([stall("Let me think", STALL, chunk_size=100), drop("Half a rep")])
    interpreter = Interpreter(make_settings(), computer=computer, model=model)
    chunks, took = _chat_until_silent(interpreter, interpreter.stop)
    assert took < PROMPTLY and chunks[-1].content == "stopped"
    with pytest.raises(ModelUnavailable, match="stream broke mid-reply"):
        interpreter.chat("again")


def test_deadline_ends_a_silent_stream_as_timeout(server: ScriptedServer, make_settings: Callable[..., Any],
                                                  computer: Any) -> None:
    server.add(stall("Let me think", STALL, chunk_size=100))
    interpreter = Interpreter(make_settings(), computer=computer, deadline=time.monotonic() + 3)
    started = time.monotonic()
    chunks = list(interpreter.chat("think", stream=True))
    assert time.monotonic() - started < 3 + PROMPTLY
    assert chunks[-1].type == "status" and chunks[-1].content == "timeout"


def test_fleet_wall_time_budget_cuts_a_silent_model(tmp_path: Path) -> None:
    with ScriptedServer([stall("Let me think", STALL, chunk_size=100)]) as srv:
        settings = Settings(model="openai/scripted", api_base=srv.url, api_key="x", mode="tools",
                            data_dir=tmp_path, context_window=32768, retry_delay=0.01, max_retries=0)
        started = time.monotonic()
        [result] = list(Fleet().run([SessionSpec("silent", "go", settings, Budget(wall_time=3.0))]))
        took = time.monotonic() - started
    assert (result.status, result.failure, result.attempts) == ("timeout", "budget", 1)
    assert took < 3 + PROMPTLY + 10, f"a 3 s budget ran {took:.1f}s"  # +10: the fleet's own start-up


def test_ctrl_c_in_the_cli_cancels_a_silent_model(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LMC_DATA_DIR=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), LITELLM_LOCAL_MODEL_COST_MAP="True")
    with ScriptedServer([stall("Let me think", STALL, chunk_size=100)]) as srv:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.chat_main", "chat", "go", "--model", "openai/scripted",
             "--api-base", srv.url, "--api-key", "k", "--mode", "tools", "-y", "--format", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        assert proc.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
        chunks = []
        while not any(c.get("role") == "assistant" and c.get("content") for c in chunks):
            chunks.append(json.loads(lines.get(timeout=120)))
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=STALL + 30)
        took = time.monotonic() - interrupted
        while not lines.empty():
            chunks.append(json.loads(lines.get()))
    assert took < PROMPTLY, f"Ctrl-C took {took:.1f}s to stop a silent model"
    assert code == 130 and chunks[-1]["type"] == "status" and chunks[-1]["content"] == "stopped"


def test_idle_timeout_is_its_own_setting_and_says_so(server: ScriptedServer, stream_path: str) -> None:
    server.add(stall("partial", STALL))
    started = time.monotonic()
    message = _failure(server, stream_idle_timeout=2)
    assert time.monotonic() - started < 2 + PROMPTLY
    assert "timed out: no data for 2 s" in message and "1 request," in message
    assert "after 2 stream chunks" in message and "LMC_STREAM_IDLE_TIMEOUT" in message
    assert ModelConfig().stream_idle_timeout < ModelConfig().request_timeout
    with pytest.raises(SettingsError, match="stream_idle_timeout must be more than 0 seconds"):
        ModelConfig(stream_idle_timeout=0)


def test_stream_cut_mid_reply_says_so_after_one_request(server: ScriptedServer, stream_path: str) -> None:
    server.add(drop("the first words of a reply"))
    message = _failure(server)
    assert "stream broken" in message and "1 request," in message and "stream chunks had arrived" in message
    assert "retries" not in message and "not retried" in message
    assert server.served == 1


def test_malformed_event_is_named(server: ScriptedServer, stream_path: str) -> None:
    server.add(malformed("some words"))
    message = _failure(server)
    assert "malformed data" in message and "1 request," in message


def test_http_errors_count_the_requests_really_made(server: ScriptedServer, stream_path: str) -> None:
    server.add(*[http_error(500)] * 3)
    message = _failure(server, max_retries=2)
    assert "answered HTTP 500" in message and "3 requests (1 + 2 retries)" in message
    assert server.served == 3
