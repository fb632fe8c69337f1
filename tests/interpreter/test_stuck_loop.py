"""A model that is stuck: the same code, the same failure, or one sentence over and over.

It is told once, then the chat stops with the status "stuck", visible in the
transcript, the CLI and the fleet's results.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmc.messages import Message
from orchestrator.fleet.fleet import Budget, Fleet, SessionSpec
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.session.interpreter import Interpreter
from orchestrator.session.stuck import REPEATS, looping_tail
from orchestrator.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "open('/nonexistent/dir/banana.txt', 'w').write('banana')"
LOOP = "I will now create the file banana.txt for you. "


def _notes(messages: list[Message], words: str) -> list[Message]:
    return [m for m in messages if m.role == "computer" and m.type == "error" and words in str(m.content)]


def _runs(messages: list[Message]) -> int:
    return sum(1 for m in messages if m.role == "computer" and m.type == "console" and m.format == "output")


def test_same_broken_code_is_told_once_then_stopped_as_stuck(
        server: ScriptedServer, make_settings: Callable[..., Any], computer: Any) -> None:
    server.add(*[tool_call("python", BROKEN)] * 10)
    interpreter = Interpreter(make_settings(max_steps=20), computer=computer)
    messages = interpreter.chat("create a file containing banana")
    assert messages[-1].type == "status" and messages[-1].content == "stuck"
    assert len(_notes(messages, "repeating yourself")) == 1
    assert _runs(messages) == REPEATS  # the code asked for after the warning is not run again
    assert messages[-2].type == "error" and "Not run" in str(messages[-2].content)  # its call still has a result
    assert len(server.requests) == REPEATS + 1
    told = server.requests[REPEATS]["messages"]  # the model was told before it asked again
    assert any("repeating yourself" in str(m.get("content")) for m in told)


def test_same_failure_from_different_code_counts_too(
        server: ScriptedServer, make_settings: Callable[..., Any], computer: Any) -> None:
    server.add(*[tool_call("python", f"attempt = {i}\nraise OSError('disk is read-only')") for i in range(10)])
    messages = Interpreter(make_settings(max_steps=20), computer=computer).chat("go")
    assert messages[-1].content == "stuck"
    assert len(_notes(messages, "repeating yourself")) == 1
    assert _runs(messages) == REPEATS + 1  # different code runs; its same failure then stops the chat


def test_a_model_that_changes_approach_after_the_warning_goes_on(
        server: ScriptedServer, make_settings: Callable[..., Any], computer: Any, tmp_path: Path) -> None:
    target = tmp_path / "banana.txt"
    server.add(*[tool_call("python", BROKEN)] * REPEATS,
               tool_call("python", f"open({str(target)!r}, 'w').write('banana'); print('written')"),
               text("Done: banana.txt holds banana."))
    messages = Interpreter(make_settings(max_steps=20), computer=computer).chat("go")
    assert messages[-1].content == "complete" and target.read_text() == "banana"
    assert len(_notes(messages, "repeating yourself")) == 1


def test_a_reply_looping_on_one_sentence_is_cut_then_stopped(
        server: ScriptedServer, make_settings: Callable[..., Any], computer: Any) -> None:
    server.add(*[text(LOOP * 200)] * 3)
    messages = Interpreter(make_settings(max_steps=20), computer=computer).chat("go")
    said = [str(m.content) for m in messages if m.role == "assistant" and m.type == "message"]
    assert len(said) == 2 and all(len(s) < len(LOOP * 200) // 4 for s in said), [len(s) for s in said]
    assert len(_notes(messages, "repeated the same text over and over")) == 1
    assert messages[-1].content == "stuck"


def test_ordinary_repetition_is_not_a_loop(
        server: ScriptedServer, make_settings: Callable[..., Any], computer: Any) -> None:
    table = "| a | b |\n| --- | --- |\n" + "| 1 | 2 |\n" * 20
    prints = "print('banana')\n" * 8
    server.add(tool_call("python", prints), tool_call("python", prints), text(f"Done.\n\n{table}"))
    messages = Interpreter(make_settings(max_steps=20), computer=computer).chat("go")
    assert messages[-1].content == "complete"
    assert not _notes(messages, "repeat") and not _notes(messages, "over and over")


def test_looping_tail_finds_loops_of_any_piece_length() -> None:
    assert looping_tail("Sure. " + LOOP * 6)
    assert looping_tail("x = 1\n" + "Let me try again.\n" * 20)
    assert looping_tail("intro " + ("word " * 30 + "and a longer sentence that ends here. ") * 4)
    assert not looping_tail(LOOP * 3)  # too short to call a loop
    assert not looping_tail("-" * 400 + "=" * 400)
    assert not looping_tail(" ".join(f"line {i} of a listing" for i in range(100)))


def test_fleet_reports_stuck_as_the_models_failure(tmp_path: Path) -> None:
    with ScriptedServer(default=tool_call("python", BROKEN)) as srv:
        settings = Settings(model="openai/scripted", api_base=srv.url, api_key="x", mode="tools",
                            data_dir=tmp_path, context_window=32768, retry_delay=0.01, max_retries=0)
        [result] = list(Fleet().run([SessionSpec("stuck", "go", settings, Budget(steps=20))]))
    assert (result.status, result.failure, result.attempts, result.steps) == ("stuck", "stuck", 1, REPEATS + 1)


def test_cli_shows_the_stuck_status(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LMC_DATA_DIR=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), LITELLM_LOCAL_MODEL_COST_MAP="True", TERM="dumb")
    with ScriptedServer(default=tool_call("python", BROKEN)) as srv:
        done = subprocess.run(
            [sys.executable, "-m", "tests.support.chat_main", "chat", "banana", "--model", "openai/scripted",
             "--api-base", srv.url, "--api-key", "k", "--mode", "tools", "-y"],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert "(stuck" in done.stdout, done.stdout[-2000:]
    assert "repeating yourself" in done.stdout
    assert done.returncode == 4, "a stuck task is unfinished, not a success (exit 4)"


def test_bench_grades_a_stuck_trial_as_the_models_failure_not_an_error(tmp_path: Path) -> None:
    from benchmarks.harness.results import session_outcome
    from orchestrator.fleet.spec import SessionResult

    def stuck(reward: float) -> SessionResult:
        return SessionResult("t", "stuck", "stuck", "", 1, 4, 0, 0, 0.0, 1.0, {"reward": reward})

    assert session_outcome(stuck(0.0)) == "failed"  # graded: it was "errored" (not counted) before
    assert session_outcome(stuck(1.0)) == "passed"  # the task was done before the model got stuck
