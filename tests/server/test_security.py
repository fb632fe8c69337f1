"""Security of `lmc serve`: every route needs a token, tokens see only their own things, no cross-site
WebSockets, size limits, clear errors, tokens never logged, safe defaults at start."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from benchmarks.console.routes import routes as bench_routes
from orchestrator.server.app import create_app
from orchestrator.server.config import ServerConfig
from orchestrator.server.console import NOVNC, PUBLIC, PUBLIC_PREFIXES
from orchestrator.server.tokens import Tokens
from orchestrator.settings import Settings
from tests.server.helpers import Served, frames_until_status, printed, server_env, start, stop, url_in

WRONG = "not-a-token-of-this-server"


def _routes() -> list[Any]:
    """Every route of the app, from its router (not a hand-written list), with the benchmark plug-in's."""
    return list(create_app(ServerConfig(), Tokens(("x" * 20,)), Settings(), bench_routes(Path("."))).routes)


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "some-file.txt" if m.group(1) == "path" else "abc123", path)


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text


@pytest.mark.parametrize("headers", [{}, {"Authorization": f"Bearer {WRONG}"}, {"Authorization": WRONG}],
                         ids=["no-token", "wrong-token", "not-bearer"])
def test_every_route_refuses_an_unauthenticated_request(served: Served, headers: dict[str, str]) -> None:
    routes = _routes()
    http = [(m, r.path) for r in routes if getattr(r, "methods", None) for m in sorted(r.methods) if m != "HEAD"]
    sockets = [r.path for r in routes if not hasattr(r, "methods") or not r.methods]
    assert len(http) >= 15 and "/" in sockets and len(sockets) >= 3  # the router was really enumerated
    assert {p for _, p in http} >= PUBLIC | {"/bench/runs", "/bench/trial"}
    with httpx.Client(base_url=served.url, headers=headers) as client:
        for method, path in http:
            if path in PUBLIC:  # the console's static files: a page load carries no header
                assert method == "GET" and client.get(path).status_code == 200, path
                continue
            if path.startswith(PUBLIC_PREFIXES):  # noVNC's modules (library code): only its .js files
                assert path.startswith(NOVNC) and method == "GET", path
                for name in ("some-file.txt", "vnc.html", "core/../../../etc/passwd", "core/%2e%2e/vnc.html"):
                    assert client.get(NOVNC + name).status_code in (401, 404), name
                continue
            body = {"backend": "local"} if method in ("POST", "PUT") else None
            response = client.request(method, _fill(path), json=body)
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"] == "unauthorized", (method, path)
            _no_traceback(response.text)
    for path in sockets:
        url = served.ws + _fill(path)
        if path == "/":  # Open Interpreter's protocol: the token is the first message
            with connect(url, additional_headers=headers) as ws:
                ws.send(json.dumps({"auth": WRONG} if headers else {"role": "user", "start": True}))
                assert json.loads(ws.recv(timeout=30)) == {"auth": False}
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=30)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            continue
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers)
        assert refused.value.response.status_code == 401, path


def test_a_cross_origin_websocket_is_refused(served: Served) -> None:
    computer = httpx.post(f"{served.url}/computers", json={"backend": "local"}, headers=served.headers()).json()
    path = f"/computers/{computer['id']}/ws"
    with pytest.raises(InvalidStatus) as refused:
        connect(served.ws + path, additional_headers=served.headers(), origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    assert b"another site" in refused.value.response.body
    with pytest.raises(InvalidStatus) as refused_oi:
        connect(served.ws + "/", origin="http://localhost.evil.example")  # type: ignore[arg-type]
    assert refused_oi.value.response.status_code == 403
    # the server's own pages may (the same origin as the Host header)
    with connect(served.ws + path, additional_headers=served.headers(), origin=served.url) as ws:  # type: ignore[arg-type]
        ws.send(json.dumps({"language": "python", "code": "print('same origin')"}))
        assert printed(frames_until_status(ws)) == "same origin\n"
    httpx.delete(f"{served.url}/computers/{computer['id']}", headers=served.headers())


def test_each_token_sees_only_its_own_computers_and_conversations(served: Served) -> None:
    alice, bob = served.headers(0), served.headers(1)
    with httpx.Client(base_url=served.url) as client:
        computer = client.post("/computers", json={"backend": "local"}, headers=alice).json()["id"]
        chat = client.post("/conversations", json={"model": "openai/scripted"}, headers=alice).json()["id"]
        for method, path, body in [("GET", f"/computers/{computer}", None),
                                   ("POST", f"/computers/{computer}/run", {"language": "python", "code": "1"}),
                                   ("POST", f"/computers/{computer}/stop", None),
                                   ("POST", f"/computers/{computer}/keepalive", None),
                                   ("GET", f"/computers/{computer}/files/x.txt", None),
                                   ("DELETE", f"/computers/{computer}", None),
                                   ("GET", f"/conversations/{chat}", None),
                                   ("GET", f"/conversations/{chat}/messages", None),
                                   ("POST", f"/conversations/{chat}/messages", {"content": "hi"}),
                                   ("POST", f"/conversations/{chat}/stop", None),
                                   ("DELETE", f"/conversations/{chat}", None)]:
            response = client.request(method, path, json=body, headers=bob)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["error"] == "not_found"
        assert client.get("/computers", headers=bob).json() == []
        assert client.get("/conversations", headers=bob).json() == []
        for path in (f"/computers/{computer}/ws", f"/conversations/{chat}/ws"):
            with pytest.raises(InvalidStatus) as refused:
                connect(served.ws + path, additional_headers=bob)
            assert refused.value.response.status_code == 404
        # alice still has both, untouched by bob's attempts
        assert [c["id"] for c in client.get("/computers", headers=alice).json()] == [computer]
        assert client.get(f"/conversations/{chat}", headers=alice).json()["id"] == chat
        assert client.delete(f"/computers/{computer}", headers=alice).status_code == 200
        assert client.delete(f"/conversations/{chat}", headers=alice).status_code == 200


def test_bad_inputs_get_clear_json_errors(served: Served) -> None:
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("POST", "/computers", {"json": {"backend": "podman"}}, 400,
         "unknown backend 'podman'; known: local, docker, e2b"),
        ("POST", "/computers", {"content": b"{not json"}, 400, "not valid JSON"),
        ("POST", "/computers", {"json": ["local"]}, 400, "must be a JSON object"),
        ("POST", "/computers", {"json": {}}, 400, "missing field 'backend'"),
        ("POST", "/computers", {"json": {"backend": "local", "cpu": 2}}, 400, "unknown field 'cpu'"),
        ("POST", "/computers", {"json": {"backend": "docker", "config": {"cpu": 2}}}, 400,
         "unknown docker config field 'cpu'; known:"),
        ("POST", "/computers", {"json": {"backend": "local", "idle_timeout": "soon"}}, 400,
         "field 'idle_timeout' must be int or float"),
        ("POST", "/computers", {"json": {"backend": "docker", "config": {"workspace": "/"}}}, 400,
         "the docker config field 'workspace' reaches into the server's machine"),
        ("POST", "/computers", {"json": {"backend": "docker", "config": {"forward_env": ["OPENAI_API_KEY"]}}}, 400,
         "the docker config field 'forward_env' reaches into the server's machine"),
        ("POST", "/computers", {"json": {"backend": "e2b", "config": {"api_url": "http://evil.example"}}}, 400,
         "the e2b config field 'api_url' reaches into the server's machine"),
        ("POST", "/conversations", {"json": {"model": "openai/x", "api_base": "http://evil.example/v1"}}, 400,
         "give api_key with api_base"),
        ("POST", "/conversations", {"json": {"model": "/home/me/weights.gguf"}}, 400, "is a file on the server"),
        ("GET", "/computers/nope", {}, 404, "no computer 'nope'"),
        ("POST", "/computers/nope/run", {"json": {"language": "python", "code": "1"}}, 404, "no computer 'nope'"),
        ("GET", "/conversations/nope/messages", {}, 404, "no conversation 'nope'"),
        ("POST", "/conversations", {"json": {"model": "x", "sandbox": "vm"}}, 400, "unknown sandbox 'vm'"),
        ("POST", "/conversations", {"json": {"model": "x", "data_dir": "/"}}, 400, "unknown field 'data_dir'"),
        ("POST", "/computers", {"json": {"backend": "local", "config": {"env": {"A": "x" * 70000}}}}, 413,
         "at most 65536 bytes"),
        ("GET", "/no/such/route", {}, 404, "no route GET /no/such/route"),
    ]
    with httpx.Client(base_url=served.url, headers=served.headers()) as client:
        for method, path, kwargs, status, message in cases:
            response = client.request(method, path, **kwargs)
            assert response.status_code == status, (path, kwargs, response.text)
            assert message in response.json()["message"], (message, response.text)
            _no_traceback(response.text)
        computer = client.post("/computers", json={"backend": "local"}).json()["id"]
        response = client.post(f"/computers/{computer}/run", json={"language": "pyhton", "code": "1"})
        assert response.status_code == 400
        assert response.json()["message"] == "unknown language 'pyhton'; known: javascript, python, shell"
        response = client.put(f"/computers/{computer}/files/a.txt", content=b"x")
        assert response.status_code == 400 and "no file transfer" in response.json()["message"]
        client.delete(f"/computers/{computer}")


def test_tokens_are_never_logged(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        client.get("/computers", headers=served.headers(0))
        client.get("/computers", headers=served.headers(1))
        client.get("/computers", headers={"Authorization": f"Bearer {WRONG}"})
    with connect(served.ws + "/") as ws:
        ws.send(json.dumps({"auth": WRONG}))
        ws.recv(timeout=30)
    log = served.output()
    assert '"GET /computers HTTP/1.1" 401' in log  # the log is the server's, and it did record these requests
    for token in (*served.tokens, WRONG):
        assert token not in log


def test_first_start_makes_a_private_token_shown_once(tmp_path: Path) -> None:
    proc, lines = start([], tmp_path, tmp_path / "first.log")
    stop(proc)
    token_file = tmp_path / "config" / "lmc" / "serve-tokens"
    token = token_file.read_text().strip()
    assert len(token) >= 32 and stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert sum(token in line for line in lines) == 1
    assert url_in(lines).startswith("http://127.0.0.1:")
    assert token not in (tmp_path / "first.log").read_text()
    proc, again = start([], tmp_path, tmp_path / "second.log")
    try:
        assert not any(token in line for line in again)
        response = httpx.get(url_in(again) + "/computers",
                             headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    finally:
        stop(proc)


def test_public_bind_without_explicit_tokens_and_a_readable_token_file_are_refused(tmp_path: Path) -> None:
    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "orchestrator", "serve", "--port", "0", *args],
                              capture_output=True, text=True, timeout=120, env=server_env(tmp_path))

    public = serve("--host", "0.0.0.0")
    assert public.returncode == 2
    assert "refusing to listen on '0.0.0.0'" in public.stderr and "--token-file" in public.stderr
    assert not (tmp_path / "config" / "lmc" / "serve-tokens").exists()
    shared = tmp_path / "shared-tokens"
    shared.write_text("a-token-long-enough-1234\n")
    shared.chmod(0o644)
    readable = serve("--token-file", str(shared))
    assert readable.returncode == 2 and f"chmod 600 {shared}" in readable.stderr
    _no_traceback(public.stderr + readable.stderr)
