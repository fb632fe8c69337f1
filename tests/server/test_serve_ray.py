"""`lmc serve --ray`: two real server processes on one real Ray cluster serve the same sessions.

The cluster is a local Ray started by this test process (so ray.shutdown ends only it); both
servers join it by its address. A computer made through one replica runs code through the
other, a conversation streamed through one is approved and read through the other, another
token sees neither through either, closing through one closes for both, and a replica killed
outright takes no session with it.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from orchestrator.client import Connection
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.server.errors import NotFound, NothingPending
from tests.ray.conftest import ray_session  # noqa: F401, F811 - the fixture, shared
from tests.server.helpers import TOKENS, Served, frames_until_status, printed, start, stop, url_in

CHAT = {"model": "openai/scripted", "api_key": "sk-test", "mode": "tools", "auto_run": False}


@dataclass
class Replicas:
    """Two `lmc serve --ray` processes on one cluster."""

    a: Served
    b: Served
    address: str

    def conn(self, served: Served, which: int = 0) -> Connection:
        """A client connection to one replica with token `which`."""
        return Connection(served.url, served.tokens[which])


@pytest.fixture(scope="module")
def cluster(ray_session: Any) -> str:  # noqa: F811
    """The address of the local Ray started here (tests/ray's fixture: ray.shutdown ends only it)."""
    return str(ray_session.get_runtime_context().gcs_address)


def _replica(home: Path, name: str, address: str) -> Served:
    token_file = home / "tokens"
    log = home / f"{name}.log"
    proc, lines = start(["--token-file", str(token_file), "--ray", "--address", address], home, log)
    return Served(url_in(lines), TOKENS, log, proc, lines)


@pytest.fixture(scope="module")
def replicas(cluster: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """Two replicas sharing the token file and the data folder, as two machines behind a balancer would."""
    home = tmp_path_factory.mktemp("serve-ray")
    (home / "tokens").write_text("\n".join(TOKENS) + "\n")
    (home / "tokens").chmod(0o600)
    a = _replica(home, "a", cluster)
    b = _replica(home, "b", cluster)
    try:
        yield Replicas(a, b, cluster)
    finally:
        stop(a.proc)
        stop(b.proc)


@pytest.fixture
def model() -> Iterator[ScriptedServer]:
    """A scripted OpenAI-compatible model server on 127.0.0.1."""
    with ScriptedServer() as server:
        yield server


def _output(chunks: Any) -> str:
    return "".join(str(c.content) for c in chunks if c.format == "output" and c.content)


def test_a_computer_made_through_one_replica_runs_through_the_other(replicas: Replicas) -> None:
    a, b = replicas.conn(replicas.a), replicas.conn(replicas.b)
    made = a.call("POST", "/computers", {"backend": "local"}).json()
    path = f"/computers/{made['id']}"
    assert _output(a.stream(f"{path}/run", {"language": "python", "code": "x = 20"})) == ""
    # state set through A is there through B: it is one sandbox, in the executor actor
    assert _output(b.stream(f"{path}/run", {"language": "python", "code": "print(x + 22)"})) == "42\n"
    assert [c["id"] for c in b.call("GET", "/computers").json()] == [made["id"]]
    with connect(f"{replicas.b.ws}{path}/ws", additional_headers=replicas.b.headers()) as ws:
        ws.send('{"language": "shell", "code": "echo via-websocket"}')
        assert printed(frames_until_status(ws)) == "via-websocket\n"
    b.call("DELETE", path)
    with pytest.raises(NotFound):
        a.call("GET", path)
    with pytest.raises(NotFound):
        a.stream(f"{path}/run", {"language": "python", "code": "print(1)"}).__next__()


def test_a_desktop_on_a_cluster_without_screens_is_refused_saying_how_to_add_one(replicas: Replicas) -> None:
    """This cluster's node offers no `display` slot (tests/server/test_serve_ray_desktop.py has one that does)."""
    from orchestrator.server.errors import BadRequest

    a = replicas.conn(replicas.a)
    with pytest.raises(BadRequest, match="no node of this Ray cluster offers a screen.*ray start --resources"):
        a.call("POST", "/computers", {"backend": "local", "desktop": True})
    with pytest.raises(BadRequest, match="no node of this Ray cluster offers a screen"):
        a.call("POST", "/conversations", {**CHAT, "api_base": "http://127.0.0.1:9/v1", "desktop": True})
    assert a.call("GET", "/computers").json() == [] and a.call("GET", "/conversations").json() == []


def test_another_token_sees_nothing_through_either_replica(replicas: Replicas) -> None:
    a = replicas.conn(replicas.a)
    made = a.call("POST", "/computers", {"backend": "local"}).json()
    try:
        for served in (replicas.a, replicas.b):
            other = replicas.conn(served, which=1)
            assert other.call("GET", "/computers").json() == []
            for method, suffix, body in (("GET", "", None), ("POST", "/stop", None), ("DELETE", "", None)):
                with pytest.raises(NotFound):
                    other.call(method, f"/computers/{made['id']}{suffix}", body)
            with pytest.raises(NotFound):
                next(other.stream(f"/computers/{made['id']}/run", {"language": "python", "code": "print(1)"}))
        assert [c["id"] for c in replicas.conn(replicas.b).call("GET", "/computers").json()] == [made["id"]]
    finally:
        a.call("DELETE", f"/computers/{made['id']}")


def test_a_conversation_streamed_through_one_is_decided_and_read_through_the_other(
        replicas: Replicas, model: ScriptedServer) -> None:
    model.add(tool_call("python", "print(6 * 7)"), text("It is 42."))
    a, b = replicas.conn(replicas.a), replicas.conn(replicas.b)
    made = a.call("POST", "/conversations", {**CHAT, "api_base": model.url}).json()
    path = f"/conversations/{made['id']}"
    with pytest.raises(NothingPending):
        b.call("POST", f"{path}/approve")
    seen = []
    for chunk in a.stream(f"{path}/messages", {"content": "What is 6 times 7?"}):
        seen.append(chunk)
        if chunk.type == "confirmation":
            assert b.call("GET", path).json()["pending"]["content"] == "print(6 * 7)"
            b.call("POST", f"{path}/approve")  # decided through the other replica
    assert _output(seen) == "42\n"
    assert (seen[-1].type, seen[-1].content) == ("status", "complete")
    transcript = b.call("GET", f"{path}/messages").json()
    assert [m["type"] for m in transcript] == ["message", "code", "confirmation", "console", "message", "status"]
    assert transcript[4]["content"] == "It is 42."
    for served in (replicas.a, replicas.b):
        with pytest.raises(NotFound):
            replicas.conn(served, which=1).call("GET", f"{path}/messages")
    b.call("DELETE", path)
    for conn in (a, b):
        with pytest.raises(NotFound):
            conn.call("GET", path)


def test_a_killed_replica_loses_no_session(replicas: Replicas, model: ScriptedServer) -> None:
    model.add(text("Still here."))
    home = replicas.a.log.parent
    doomed = _replica(home, "doomed", replicas.address)
    try:
        via = replicas.conn(doomed)
        computer = via.call("POST", "/computers", {"backend": "local"}).json()["id"]
        _output(via.stream(f"/computers/{computer}/run", {"language": "python", "code": "kept = 'yes'"}))
        chat = via.call("POST", "/conversations", {**CHAT, "api_base": model.url}).json()["id"]
    finally:
        doomed.proc.send_signal(signal.SIGKILL)
        doomed.proc.wait()
    b = replicas.conn(replicas.b)
    out = b.stream(f"/computers/{computer}/run", {"language": "python", "code": "print(kept)"})
    assert _output(out) == "yes\n"
    said = [c.content for c in b.stream(f"/conversations/{chat}/messages", {"content": "Hello?"})
            if c.role == "assistant" and c.type == "message" and c.content]
    assert "".join(map(str, said)) == "Still here."
    assert [m["content"] for m in b.call("GET", f"/conversations/{chat}/messages").json()
            if m["type"] == "message"] == ["Hello?", "Still here."]
    b.call("DELETE", f"/computers/{computer}")
    b.call("DELETE", f"/conversations/{chat}")
    assert httpx.get(f"{replicas.a.url}/computers/{computer}", headers=replicas.a.headers()).status_code == 404


def test_a_run_whose_replica_died_mid_stream_is_stopped_and_the_computer_freed(replicas: Replicas) -> None:
    import threading
    import time

    doomed = _replica(replicas.a.log.parent, "doomed-mid-run", replicas.address)
    via = replicas.conn(doomed)
    computer = via.call("POST", "/computers", {"backend": "local"}).json()["id"]
    started = threading.Event()

    def stream() -> None:
        try:
            code = "import time\nprint('up', flush=True)\ntime.sleep(600)"
            for chunk in via.stream(f"/computers/{computer}/run", {"language": "python", "code": code}):
                if chunk.format == "output":
                    started.set()
        except Exception:  # the replica is killed under it
            pass

    threading.Thread(target=stream, daemon=True).start()
    assert started.wait(120), "the run never started"
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.proc.wait()
    b = replicas.conn(replicas.b)
    assert b.call("GET", f"/computers/{computer}").json()["running"]  # the dead replica's claim, for now
    deadline = time.monotonic() + 120  # ORPHAN_AFTER (15 s) and a heartbeat, on a loaded machine
    while b.call("GET", f"/computers/{computer}").json()["running"] and time.monotonic() < deadline:
        time.sleep(1)
    assert _output(b.stream(f"/computers/{computer}/run", {"language": "python", "code": "print('free')"})) == "free\n"
    b.call("DELETE", f"/computers/{computer}")


def test_an_address_where_no_ray_answers_is_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.server.helpers import server_env

    done = subprocess.run([sys.executable, "-m", "orchestrator", "serve", "--port", "0", "--address", "127.0.0.1:1"],
                          capture_output=True, text=True, env=server_env(tmp_path), timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "lmc: error: no Ray cluster answers at '127.0.0.1:1' (Connection refused); start one there with "
        "`ray start --head`, or unset RAY_ADDRESS to start a local Ray"]
    assert "Traceback" not in done.stderr + done.stdout
