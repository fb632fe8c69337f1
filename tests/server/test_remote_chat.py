"""`lmc chat --server URL`: the chat CLI as a real subprocess driving a conversation on a real `lmc serve`
with the scripted model over real HTTP: one task, approval answered y and n, Ctrl-C (real SIGINT),
options passed through, and the clear errors (wrong token, no server, not an lmc serve)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orchestrator.cli.exits import EXIT_BACKEND, EXIT_STOPPED, EXIT_UNFINISHED, EXIT_USAGE
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from tests.server.helpers import ROOT, Served

#: the token the CLI uses (the second of the server's): its conversations can be listed apart
USER = 1
#: generous for a loaded machine; a stop acts within a second when the machine is idle
WAIT = 90.0


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "LMC_DATA_DIR": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"), "TERM": "dumb", "COLUMNS": "100"}


def _args(served: Served, model: ScriptedServer, *more: str, token: str | None = None) -> list[str]:
    return [sys.executable, "-m", "orchestrator", "chat", "--server", served.url,
            "--token", token or served.tokens[USER], "--model", "openai/scripted", "--api-base", model.url,
            "--api-key", "sk-test", "--mode", "tools", "--sandbox", "local", *more]


def _lmc(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, env=_env(tmp_path), cwd=ROOT,
                          timeout=WAIT * 2)


def _left_nothing(served: Served) -> None:
    """The CLI deleted its conversation on the server when it left."""
    assert httpx.get(f"{served.url}/conversations", headers=served.headers(USER)).json() == []


def test_one_task_streams_from_the_server_and_exits_0(served: Served, model: ScriptedServer, tmp_path: Path) -> None:
    model.add(tool_call("python", "print(40 + 2)"), text("It is **42**."))
    done = _lmc(_args(served, model, "-y", "add 40 and 2"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "42" in done.stdout and "It is 42." in done.stdout  # output, then the answer rendered as markdown
    assert model.requests[0]["messages"][-1]["content"] == "add 40 and 2"
    _left_nothing(served)


def test_machine_format_and_options_reach_the_server(served: Served, model: ScriptedServer, tmp_path: Path) -> None:
    model.add(tool_call("python", "print(1)"), text("unused"))
    done = _lmc(_args(served, model, "-y", "--max-steps", "1", "--format", "json", "count"), tmp_path)
    assert done.returncode == EXIT_UNFINISHED, done.stderr  # --max-steps 1 reached the server's conversation
    chunks = [json.loads(line) for line in done.stdout.splitlines()]
    assert chunks[-1]["content"] == "max_steps" and len(model.requests) == 1


@pytest.mark.parametrize("answer", ["y", "n"])
def test_an_approval_prompt_answered_on_the_terminal(served: Served, model: ScriptedServer, tmp_path: Path,
                                                     answer: str) -> None:
    model.add(tool_call("python", "print('r' + 'an')"), text("Done."))
    done = _lmc(_args(served, model, "run it"), tmp_path, stdin=f"{answer}\n")
    assert done.returncode == 0, done.stderr
    assert "Run this code? [y/N]" in done.stdout
    last = json.dumps(model.requests[-1]["messages"][-1])  # what the model was told about its code
    if answer == "y":
        assert "ran\n" in done.stdout and "ran" in last
    else:
        assert "ran\n" not in done.stdout and "declined" in last
    _left_nothing(served)


def _started(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str], str]:
    """Read the CLI's stdout on a thread until the code printed 'started'."""
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    out = proc.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in out], daemon=True).start()
    seen = ""
    deadline = time.monotonic() + WAIT
    while "started" not in seen:
        assert time.monotonic() < deadline, f"the code never started: {seen}"
        seen += lines.get(timeout=WAIT)
    return lines, seen


@pytest.fixture
def sleeper(served: Served, model: ScriptedServer, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`lmc chat --server ... -y TASK` whose code prints 'started' and sleeps two minutes."""
    model.add(tool_call("python", "import time\nprint('started', flush=True)\ntime.sleep(120)"), text("unused"))
    proc = subprocess.Popen(_args(served, model, "-y", "sleep"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(tmp_path), cwd=ROOT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_ctrl_c_stops_the_chat_on_the_server_and_exits_130(served: Served, model: ScriptedServer,
                                                            sleeper: subprocess.Popen[str]) -> None:
    lines, seen = _started(sleeper)
    sleeper.send_signal(signal.SIGINT)
    assert sleeper.wait(timeout=WAIT) == EXIT_STOPPED  # well before the two-minute sleep ends
    while not lines.empty():
        seen += lines.get()
    assert "(stopped)" in seen  # the server's status, shown as the local chat shows it
    assert len(model.requests) == 1  # stopped: the model was not asked again
    _left_nothing(served)


def test_a_second_ctrl_c_leaves_a_server_that_does_not_answer(served: Served, model: ScriptedServer,
                                                               sleeper: subprocess.Popen[str]) -> None:
    _started(sleeper)
    served.proc.send_signal(signal.SIGSTOP)  # the server freezes: the stop request gets no answer
    try:
        assert sleeper.stderr is not None
        err = sleeper.stderr
        said: list[str] = []
        reader = threading.Thread(target=lambda: said.extend(err), daemon=True)
        reader.start()
        # Ctrl-C, then again each second until the CLI says it leaves (signals that come together count
        # once): the first one's stop request hangs, a second one leaves
        deadline = time.monotonic() + WAIT
        while not any("leaving" in line for line in said) and time.monotonic() < deadline:
            sleeper.send_signal(signal.SIGINT)
            time.sleep(1)
        assert sleeper.wait(timeout=WAIT) == EXIT_STOPPED
        reader.join(timeout=WAIT)  # stderr read to its end
    finally:
        served.proc.send_signal(signal.SIGCONT)
    text = "".join(said)
    assert "leaving without waiting for the server" in text and "Traceback" not in text


def test_a_wrong_token_is_one_clear_line(served: Served, model: ScriptedServer, tmp_path: Path) -> None:
    done = _lmc(_args(served, model, "hi", token="not-a-token-of-this-server"), tmp_path)
    assert done.returncode == EXIT_USAGE and done.stderr.count("\n") == 1
    assert "refused the token (401)" in done.stderr and "not-a-token" not in done.stderr
    assert model.served == 0


def test_no_server_and_not_an_lmc_server_are_clear_errors(served: Served, model: ScriptedServer,
                                                          tmp_path: Path) -> None:
    import socket

    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    args = _args(served, model, "hi")
    args[args.index(served.url)] = f"http://127.0.0.1:{port}"
    gone = _lmc(args, tmp_path)
    assert gone.returncode == EXIT_BACKEND and "cannot reach lmc serve" in gone.stderr
    args[args.index(f"http://127.0.0.1:{port}")] = model.url.removesuffix("/v1")  # an HTTP server, not ours
    other = _lmc(args, tmp_path)
    assert other.returncode == EXIT_USAGE and "it is not lmc serve" in other.stderr
    assert "Traceback" not in gone.stderr + other.stderr


def test_options_that_only_work_locally_are_refused(served: Served, model: ScriptedServer, tmp_path: Path) -> None:
    done = _lmc(_args(served, model, "--os", "hi"), tmp_path)
    assert done.returncode == EXIT_USAGE and "--os cannot be used with --server" in done.stderr


def test_the_interactive_chat_on_a_server(served: Served, model: ScriptedServer, tmp_path: Path) -> None:
    model.add(text("Hello from the server."), text("Again."))
    args = [a for a in _args(served, model, "-y") if a != "chat"]  # `lmc --server URL`: the interactive chat
    done = _lmc(args, tmp_path, stdin="hi\n%undo\n%reset\nhello\nexit\n")
    assert done.returncode == 0, done.stderr
    assert "Hello from the server." in done.stdout and "Again." in done.stdout
    assert "%undo is not available with --server" in done.stdout and "new conversation" in done.stdout
    assert len(model.requests[-1]["messages"]) == 2  # %reset: a new conversation (system, "hello")
    _left_nothing(served)


def test_the_server_says_its_api_version(served: Served) -> None:
    from orchestrator.server.wire import API_VERSION

    about = httpx.get(f"{served.url}/version", headers=served.headers()).json()
    assert about["api"] == API_VERSION and isinstance(about["lmc"], str)
    assert httpx.get(f"{served.url}/version").status_code == 401  # behind the token like every route
