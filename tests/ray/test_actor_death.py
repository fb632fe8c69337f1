"""Actors dying on real Ray: sessions survive, sandboxes are closed with their owner, errors are lmc's.

The orchestrator actor killed mid-run: the chat raises SessionLost (not a Ray error), the
session's sandbox process is gone within a bounded time, and the next chat (same Interpreter or
a new one) works in a new actor. The executor actor killed mid-run: the run is a `sandbox` error
and the next run gets a fresh sandbox in a new executor actor. `lmc chat --ray` with its actor
process killed prints one lmc line, no traceback.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lmc import codec
from lmc.messages import Chunk
from orchestrator.computer import Computer
from orchestrator.fleet.fleet import FleetConfig
from orchestrator.fleet.spec import SessionSpec
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.ray.errors import SessionLost
from orchestrator.ray.executor_actor import RayExecutor, executor_actor
from orchestrator.ray.fleet_workers import run_on_ray, start_workers, stop_workers
from orchestrator.ray.sessions import RemoteSession, connect
from orchestrator.session.interpreter import Interpreter
from orchestrator.settings import Settings, resolve

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]
#: code that says which process runs it, then waits far longer than any test
SLEEPER = "import os, time\nprint('pid', os.getpid(), flush=True)\ntime.sleep(600)"
#: generous bounds for a loaded 2-core machine; the old behaviour never got there (the run went on 600 s)
CLOSED_WITHIN = 60.0


def _settings(srv: ScriptedServer, data: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(model="openai/scripted", api_base=srv.url, api_key="sk-test", mode="tools",
                                  auto_run=True, data_dir=data, retry_delay=0.01, ray=True)
    values.update(overrides)
    return resolve(values, env={}, config_file=data / "no-config.toml")


def _running(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what} (waited {within:g} s)"
        time.sleep(0.1)


def _until_pid(chunks: Iterator[Chunk], then: Callable[[], None]) -> int:
    """Read chunks until the code printed its pid, then call `then`; the pid."""
    seen = ""
    for chunk in chunks:
        if chunk.type == "console" and isinstance(chunk.content, str):
            seen += chunk.content
            found = re.search(r"pid (\d+)\n", seen)
            if found:
                then()
                return int(found.group(1))
    raise AssertionError(f"the code never printed its pid; output: {seen!r}")


def test_a_killed_orchestrator_actor_closes_its_sandbox_and_sessions_go_on(
    ray_session: Any, tmp_path: Path
) -> None:
    ray = ray_session
    with ScriptedServer([tool_call("python", SLEEPER)], default=text("fine")) as srv:
        settings = _settings(srv, tmp_path)
        interpreter = Interpreter(settings)
        chat = interpreter.chat("sleep", stream=True)
        pid = _until_pid(chat, lambda: ray.kill(ray.get_actor("lmc-orchestrator")))
        with pytest.raises(SessionLost, match=r"orchestrator actor died .*ray\.kill.*the next chat reopens it"):
            list(chat)
        # the executor actor noticed its owner died: the run was stopped and the sandbox closed
        _wait_for(lambda: not _running(pid), CLOSED_WITHIN, f"the dead session's sandbox (pid {pid}) still runs")
        _wait_for(lambda: ray.get(executor_actor().count.remote()) == 0, CLOSED_WITHIN,
                  "the executor actor still holds the dead session's sandbox")
        # the same conversation goes on in a new actor, its transcript reloaded from disk
        assert interpreter.chat("again")[-1].content == "complete"
        assert [m.content for m in interpreter.messages if m.role == "user"] == ["sleep", "again"]
        interpreter.close()
        # and a new session in this process works too (the dead handle was dropped)
        with Interpreter(settings) as other:
            assert other.chat("hello")[-1].content == "complete"
        assert len(srv.requests) == 3


def test_a_session_without_reconnect_stays_lost_and_closes_quietly(ray_session: Any, tmp_path: Path) -> None:
    ray = ray_session
    with ScriptedServer(default=text("fine")) as srv:
        settings = _settings(srv, tmp_path)
        actor = connect(settings, name="lmc-test-lost")
        session = RemoteSession.open(actor, None, settings)
        ray.kill(actor)
        with pytest.raises(SessionLost, match="orchestrator actor died .*; its sessions are gone; open a new session"):
            list(session.chat(None, decide=lambda _code: False))
        with pytest.raises(SessionLost, match="open a new session"):
            list(session.chat(None, decide=lambda _code: False))
        session.stop()  # nothing to stop, nothing to close: no error either way
        session.close()
        assert connect(settings, name="lmc-test-lost")._actor_id != actor._actor_id


def test_a_killed_executor_actor_is_a_sandbox_error_then_a_fresh_sandbox(
    ray_session: Any, tmp_path: Path
) -> None:
    ray = ray_session
    script = [tool_call("python", "x = 41"), tool_call("python", SLEEPER),
              tool_call("python", "print('fresh', 'x' in globals())"), text("done")]
    with ScriptedServer(script) as srv, Computer(RayExecutor("local")) as computer:
        interpreter = Interpreter(_settings(srv, tmp_path, ray=False), computer=computer)
        chat = interpreter.chat("go", stream=True)
        first = executor_actor()
        _until_pid(chat, lambda: ray.kill(first))
        rest = list(chat)
        errors = [c for c in rest if c.type == "error"]
        assert [e.format for e in errors] == ["sandbox"]
        assert re.match(r"ExecutorActorLost: the executor actor died .*ray\.kill.*the next run starts a new "
                        r"executor actor and a fresh sandbox", str(errors[0].content))
        output = "".join(str(c.content) for c in rest if c.type == "console" and c.format == "output")
        assert "fresh False" in output  # ran, in a new sandbox (the old variables are gone)
        assert interpreter.messages[-1].content == "complete"
        assert executor_actor()._actor_id != first._actor_id


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _orchestrator_process(root: int) -> int:
    for pid in _descendants(root):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::OrchestratorActor"):
                return pid
        except FileNotFoundError:
            continue
    raise AssertionError("no OrchestratorActor process under the lmc process")


def test_lmc_chat_ray_with_its_actor_killed_says_so_in_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LMC_DATA_DIR=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), LITELLM_LOCAL_MODEL_COST_MAP="True",
               RAY_AUTH_MODE="disabled", TERM="dumb")
    env.pop("RAY_ADDRESS", None)
    with ScriptedServer([tool_call("python", SLEEPER)], default=text("fine")) as srv:
        args = ["chat", "sleep", "--model", "openai/scripted", "--api-base", srv.url, "--api-key", "k",
                "--mode", "tools", "--ray", "-y", "--format", "json"]
        lmc = subprocess.Popen([sys.executable, "-m", "tests.support.chat_main", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert lmc.stdout is not None
            chunks = (codec.chunk_from_dict(json.loads(line)) for line in lmc.stdout)
            pid = _until_pid(chunks, lambda: None)
            os.kill(_orchestrator_process(lmc.pid), signal.SIGKILL)  # a crash: Ray restarts the actor
            out, err = lmc.communicate(timeout=300)
        finally:
            if lmc.poll() is None:
                lmc.kill()
    assert lmc.returncode == 1, err
    assert "Traceback" not in err and "ray.exceptions" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("lmc: ")]
    assert len(lines) == 1, err
    assert re.match(r"lmc: the orchestrator actor died or cannot be reached \(.+\); the chat in progress was "
                    r"lost \(the conversation is saved up to here\)", lines[0]), lines[0]
    # the sandbox goes with its session and with lmc's own Ray: its worker processes are reaped
    # asynchronously after lmc exits, so on a loaded machine it may take a moment
    _wait_for(lambda: not _running(pid), CLOSED_WITHIN, f"the lost chat's sandbox (pid {pid}) still runs")


def test_a_fleet_worker_killed_mid_session_fails_that_session_as_infra(ray_session: Any, tmp_path: Path) -> None:
    ray = ray_session
    marker = tmp_path / "running"
    code = f"open({str(marker)!r}, 'w').close()\nimport time\ntime.sleep(600)"

    def settings(srv: ScriptedServer) -> Settings:
        return Settings(model="openai/scripted", api_base=srv.url, api_key="x", mode="tools", data_dir=tmp_path,
                        context_window=32768, retry_delay=0.01, max_retries=1)

    with ScriptedServer([tool_call("python", code)], default=text("x")) as slow, \
            ScriptedServer(default=text("done")) as quick:
        specs = [SessionSpec("slow", "go", settings(slow)), SessionSpec("quick", "go", settings(quick))]
        workers = start_workers(FleetConfig(ray=True, workers=2, max_sessions=2))
        killed = threading.Event()

        def kill_when_running() -> None:  # "slow" went to the first worker (round-robin)
            deadline = time.monotonic() + 120
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            ray.kill(workers[0].handle)
            killed.set()

        killer = threading.Thread(target=kill_when_running, daemon=True)
        killer.start()
        try:
            results = {r.id: r for r in run_on_ray(workers, specs, 2)}
        finally:
            killer.join(timeout=130)
            stop_workers(workers)
    assert killed.is_set() and marker.exists()
    assert (results["slow"].status, results["slow"].failure) == ("failed", "infra")
    assert re.match(r"the fleet worker running session slow died .*ray\.kill.*; it has no retries left; the other "
                    r"sessions go on",
                    results["slow"].detail), results["slow"].detail
    assert (results["quick"].status, results["quick"].failure) == ("complete", None)
