"""Computers without a model over `lmc serve`: runs streamed over SSE and WebSocket (JSON and
msgpack), stop, idle timeout and keep-alive, file transfer; through the real server and client."""

from __future__ import annotations

import json
import shutil
import threading
import time
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from lmc.codec import decode_chunk, to_dict
from orchestrator.client import RemoteComputer
from orchestrator.server.errors import BadRequest, NotFound, TooLarge
from tests.server.helpers import Served, frames_until_status, printed

#: a stop must end the run within this many seconds; the code would otherwise run 120 s
STOP_DEADLINE = 30.0
SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(120)\nprint('not reached')"


def test_remote_computer_runs_and_streams_like_computer(served: Served) -> None:
    with RemoteComputer(served.url, served.tokens[0]) as computer:
        messages = computer.run("python", "x = 6 * 7\nprint(x)")
        assert [(m.type, m.format, m.content) for m in messages if m.type == "console" and m.format == "output"] \
            == [("console", "output", "42\n")]
        chunks = list(computer.run("py", "print(x + 1)", stream=True))  # state kept; aliases resolved
        assert chunks[0].start and any(c.end for c in chunks)
        assert "".join(str(c.content) for c in chunks if c.format == "output" and c.content) == "43\n"
        image = computer.run("python", "import base64, sys\nprint('done')")
        assert any(m.content == "done\n" for m in image)
        assert computer.id in [c["id"] for c in httpx.get(f"{served.url}/computers", headers=served.headers()).json()]
        with pytest.raises(BadRequest, match="unknown language 'cobol'; known: javascript, python, shell"):
            computer.run("cobol", "DISPLAY 'HI'.")
    gone = httpx.get(f"{served.url}/computers/{computer.id}", headers=served.headers())
    assert gone.status_code == 404  # closed: the server has forgotten it


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
def test_runs_over_a_websocket(served: Served, fmt: str) -> None:
    computer = httpx.post(f"{served.url}/computers", json={"backend": "local"}, headers=served.headers()).json()
    def from_msgpack(raw: object) -> dict[str, Any]:
        assert isinstance(raw, bytes), "a msgpack socket sends binary frames"
        return to_dict(decode_chunk(raw))

    decode = from_msgpack if fmt == "msgpack" else None
    url = f"{served.ws}/computers/{computer['id']}/ws?format={fmt}"
    with connect(url, additional_headers=served.headers()) as ws:
        ws.send(json.dumps({"language": "python", "code": "import sys\nprint('out')\nprint('err', file=sys.stderr)"}))
        frames = frames_until_status(ws, decode=decode)
        assert printed(frames) == "out\nerr\n"
        assert frames[-1] == {"role": "server", "type": "status", "content": "complete", "start": True, "end": True}
        ws.send(json.dumps({"language": "shell", "code": "echo $((2+3))"}))
        assert printed(frames_until_status(ws, decode=decode)) == "5\n"
        ws.send(json.dumps({"language": "python"}))  # a bad request is an error frame; the socket lives on
        error: Any = ws.recv(timeout=60)
        body = json.loads(error) if isinstance(error, str) else __import__("msgpack").unpackb(error)
        assert body == {"error": "bad_request", "message": "missing field 'code'; required: language, code"}
        ws.send(json.dumps({"language": "python", "code": "print('still here')"}))
        assert printed(frames_until_status(ws, decode=decode)) == "still here\n"
    httpx.delete(f"{served.url}/computers/{computer['id']}", headers=served.headers())


def test_stop_ends_a_running_run_over_sse(served: Served) -> None:
    with RemoteComputer(served.url, served.tokens[0]) as computer:
        chunks = computer.run("python", SLEEPER, stream=True)
        seen: list[Any] = []
        stopped_at = None
        for chunk in chunks:
            seen.append(chunk)
            if stopped_at is None and "started" in "".join(str(c.content) for c in seen if c.format == "output"):
                stopped_at = time.monotonic()
                computer.stop()
        assert stopped_at is not None
        assert time.monotonic() - stopped_at < STOP_DEADLINE
        assert any(c.type == "error" and c.format == "interrupted" for c in seen), seen
        assert not any(c.content == "not reached\n" for c in seen)
        assert [m.content for m in computer.run("python", "print('usable')") if m.format == "output"] == ["usable\n"]


def test_stop_command_over_a_websocket_and_busy_refused(served: Served) -> None:
    computer = httpx.post(f"{served.url}/computers", json={"backend": "local"}, headers=served.headers()).json()
    with connect(f"{served.ws}/computers/{computer['id']}/ws", additional_headers=served.headers()) as ws:
        ws.send(json.dumps({"language": "python", "code": SLEEPER}))
        frames = [json.loads(ws.recv(timeout=60))]
        while "started" not in printed(frames):
            frames.append(json.loads(ws.recv(timeout=60)))
        busy = httpx.post(f"{served.url}/computers/{computer['id']}/run", headers=served.headers(),
                          json={"language": "python", "code": "1"})
        assert busy.status_code == 409 and "running already" in busy.json()["message"]
        stopped_at = time.monotonic()
        ws.send(json.dumps({"command": "stop"}))
        frames = frames_until_status(ws, deadline=STOP_DEADLINE)
        assert time.monotonic() - stopped_at < STOP_DEADLINE
        assert any(f.get("format") == "interrupted" for f in frames), frames
    httpx.delete(f"{served.url}/computers/{computer['id']}", headers=served.headers())


def test_a_client_that_disconnects_mid_run_stops_it(served: Served) -> None:
    computer = httpx.post(f"{served.url}/computers", json={"backend": "local"}, headers=served.headers()).json()
    run = f"{served.url}/computers/{computer['id']}/run"
    with httpx.stream("POST", run, json={"language": "python", "code": SLEEPER}, headers=served.headers(),
                      timeout=httpx.Timeout(60, read=None)) as response:
        for line in response.iter_lines():
            if "started" in line:
                break
    deadline = time.monotonic() + STOP_DEADLINE  # the abandoned run is stopped, so the computer frees up
    while httpx.get(f"{served.url}/computers/{computer['id']}", headers=served.headers()).json()["running"]:
        assert time.monotonic() < deadline, "the run went on after its client left"
        time.sleep(0.1)
    httpx.delete(f"{served.url}/computers/{computer['id']}", headers=served.headers())


def test_remote_streams_keep_their_connection_and_recover_when_it_is_closed(served: Served) -> None:
    """RemoteComputer's streams reuse one connection per thread; after the server closes it (idle) or a
    stream is left half read, the next run takes a new one instead of failing."""
    import select

    def output_of(messages: list[Any]) -> str:
        return "".join(str(m.content) for m in messages if m.type == "console" and m.format == "output")

    with RemoteComputer(served.url, served.tokens[0]) as computer:
        assert output_of(computer.run("python", "print(1)")) == "1\n"
        kept = computer.connection._streams.connection
        assert kept is not None and kept.sock is not None
        assert output_of(computer.run("python", "print(2)")) == "2\n"
        assert computer.connection._streams.connection is kept  # the same connection carried the next run
        readable, _, _ = select.select([kept.sock], [], [], 60)  # uvicorn closes idle connections (5 s)
        assert readable, "the server kept an idle connection open for 60 s"
        assert output_of(computer.run("python", "print(3)")) == "3\n"
        assert computer.connection._streams.connection is not kept
        chunks = computer.run("python", SLEEPER, stream=True)
        assert any("started" in str(c.content) for c in chunks if c.content)
        chunks.close()  # abandoned mid-run: the connection goes, and the server stops the run
        assert computer.connection._streams.connection is None
        deadline = time.monotonic() + STOP_DEADLINE
        while httpx.get(f"{served.url}/computers/{computer.id}", headers=served.headers()).json()["running"]:
            assert time.monotonic() < deadline, "the abandoned run went on"
            time.sleep(0.1)
        assert output_of(computer.run("python", "print(4)")) == "4\n"


def _exists(served: Served, computer: str) -> bool:
    """Whether the computer is still open (asked through the listing, which does not count as use)."""
    listed = httpx.get(f"{served.url}/computers", headers=served.headers()).json()
    return computer in [c["id"] for c in listed]


def test_idle_computers_are_closed_and_keepalive_keeps_them(served: Served) -> None:
    idle = httpx.post(f"{served.url}/computers", json={"backend": "local", "idle_timeout": 1},
                      headers=served.headers()).json()["id"]
    kept = httpx.post(f"{served.url}/computers", json={"backend": "local", "idle_timeout": 5},
                      headers=served.headers()).json()["id"]
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(0.25):
            httpx.post(f"{served.url}/computers/{kept}/keepalive", headers=served.headers())

    keeper = threading.Thread(target=keep, daemon=True)
    keeper.start()
    try:
        deadline = time.monotonic() + 60
        while _exists(served, idle):
            assert time.monotonic() < deadline, "an idle computer was never closed"
            time.sleep(0.2)  # a poll interval, not a synchronisation: the loop waits on the state
        closed_after = time.monotonic()
        while time.monotonic() < closed_after + 11:  # more than twice kept's timeout
            assert _exists(served, kept), "a computer kept alive was closed"
            time.sleep(0.5)
    finally:
        stop.set()
        keeper.join()
    httpx.delete(f"{served.url}/computers/{kept}", headers=served.headers())


@pytest.mark.docker
def test_files_in_and_out_of_a_docker_computer(served: Served) -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker here")
    with RemoteComputer(served.url, served.tokens[0], backend="docker") as computer:
        assert computer.write("data/in.txt", b"hello from the host\n") == "/workspace/data/in.txt"
        out = computer.run("shell", "tr a-z A-Z < data/in.txt > data/out.txt && wc -c < data/out.txt")
        assert "20" in "".join(str(m.content) for m in out if m.format == "output")
        assert computer.read("data/out.txt") == b"HELLO FROM THE HOST\n"
        binary = bytes(range(256)) * 4
        computer.write("blob.bin", binary)
        assert computer.read("blob.bin") == binary
        with pytest.raises(NotFound, match="no file or folder '/workspace/missing.txt'"):
            computer.read("missing.txt")
        with pytest.raises(TooLarge, match="an upload may be at most 262144 bytes"):
            computer.write("big.bin", b"x" * 300_000)
        base = f"{served.url}/computers/{computer.id}/files/"
        for escape in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "a/..%2F..%2Fb"):
            response = httpx.get(base + escape, headers=served.headers())
            assert response.status_code == 400, escape
            assert "relative to the sandbox's workspace" in response.json()["message"]
