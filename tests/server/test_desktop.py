"""Desktops of served computers: a real `lmc serve`, real Xvfb and x11vnc; the WebSocket bridge speaks RFB to a
real client, refuses strangers, and everything ends with the computer."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.server.helpers import TOKENS, Served, pids_on, start, stop, url_in

pytestmark = [pytest.mark.desktop, pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("x11vnc") is None,
    reason="needs Xvfb and x11vnc (scripts/test installs them)")]


@pytest.fixture(scope="module")
def desktop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("desktop-serve")
    token_file = home / "tokens"
    token_file.write_text("\n".join(TOKENS) + "\n")
    token_file.chmod(0o600)
    log = home / "server.log"
    proc, lines = start(["--token-file", str(token_file), "--max-desktops", "2"], home, log)
    try:
        yield Served(url_in(lines), TOKENS, log, proc, lines)
    finally:
        stop(proc)


def protocol(token: str) -> str:
    """The token as the browser sends it: a WebSocket subprotocol."""
    return "lmc.token." + base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def rfb_handshake(ws: object) -> tuple[int, int]:
    """Speak RFB 3.8 through the bridge up to ServerInit (no authentication: the bridge is the guard)."""
    def recv() -> bytes:
        data = ws.recv(timeout=30)  # type: ignore[attr-defined]
        assert isinstance(data, bytes), data
        return data

    assert recv() == b"RFB 003.008\n"
    ws.send(b"RFB 003.008\n")  # type: ignore[attr-defined]
    types = recv()
    assert types[0] >= 1 and 1 in types[1:1 + types[0]], types  # security type 1: None
    ws.send(b"\x01")  # type: ignore[attr-defined]
    assert recv() == b"\x00\x00\x00\x00"  # SecurityResult: OK
    ws.send(b"\x01")  # type: ignore[attr-defined]  # ClientInit: shared
    init = recv()
    return int.from_bytes(init[0:2], "big"), int.from_bytes(init[2:4], "big")


def x11vnc_of(display: str) -> list[int]:
    """Pids of x11vnc processes serving `display`."""
    return pids_on("x11vnc", display)


def test_a_computer_desktop_is_served_over_rfb_and_closed_with_it(desktop_server: Served) -> None:
    url, headers = desktop_server.url, desktop_server.headers()
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        made = client.post("/computers", json={"backend": "local", "desktop": True})
        assert made.status_code == 201 and made.json()["desktop"] is True, made.text
        cid = made.json()["id"]
        info = client.get(f"/computers/{cid}/desktop").json()
        assert info["vnc"] is True and info["fallback"] is None and (info["width"], info["height"]) == (1280, 800)
        display = info["display"]
        # one process drives several displays, each with its own pointer, up to --max-desktops
        second = client.post("/computers", json={"backend": "local", "desktop": True})
        assert second.status_code == 201, second.text
        other = second.json()["id"]
        assert client.get(f"/computers/{other}/desktop").json()["display"] != display
        third = client.post("/computers", json={"backend": "local", "desktop": True})
        assert third.status_code == 409 and "--max-desktops" in third.json()["message"], third.text
        for n, each in enumerate((cid, other, cid)):
            moved = client.post(f"/computers/{each}/run", json={"language": "python", "code": (
                f"computer.mouse.move({100 + n}, {200 + n})\nprint(computer.mouse.position())")})
            assert f"'x': {100 + n}, 'y': {200 + n}" in moved.text, moved.text
        assert client.delete(f"/computers/{other}").status_code == 200
        # the computer's devices and its sandbox's programs are on that display
        ran = client.post(f"/computers/{cid}/run", json={"language": "python", "code": (
            "import os\nprint(os.environ['DISPLAY'], computer.display.size())")})
        printed = "".join(json.loads(line[6:]).get("content") or "" for line in ran.text.splitlines()
                          if line.startswith("data: {\"role\""))
        assert printed == f"{display} [1280, 800]\n", ran.text
        png = client.get(f"/computers/{cid}/desktop/screenshot")
        from PIL import Image

        assert png.headers["content-type"] == "image/png" and Image.open(io.BytesIO(png.content)).size == (1280, 800)
        # x11vnc opened no TCP port: its only way in is the server's bridge
        pids = x11vnc_of(display)
        assert len(pids) == 1
        listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
        assert f"pid={pids[0]}," not in listening, listening
        ws_url = desktop_server.ws + f"/computers/{cid}/desktop/vnc"
        with connect(ws_url, additional_headers=headers) as ws:
            assert rfb_handshake(ws) == (1280, 800)
        # a browser's way: the token as a subprotocol, from the server's own page; "binary" is chosen
        with connect(ws_url, subprotocols=["binary", protocol(TOKENS[0])],  # type: ignore[list-item]
                     origin=url) as ws:  # type: ignore[arg-type]
            assert ws.subprotocol == "binary"
            assert rfb_handshake(ws) == (1280, 800)
        assert client.delete(f"/computers/{cid}").status_code == 200
    deadline = time.monotonic() + 30
    while x11vnc_of(display) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert x11vnc_of(display) == [] and not Path(f"/tmp/.X11-unix/X{display[1:]}").exists()


def test_the_desktop_bridge_refuses_strangers(desktop_server: Served) -> None:
    url = desktop_server.url
    with httpx.Client(base_url=url, timeout=120) as client:
        cid = client.post("/computers", json={"backend": "local", "desktop": True},
                          headers=desktop_server.headers()).json()["id"]
        plain = client.post("/computers", json={"backend": "local"}, headers=desktop_server.headers()).json()["id"]
        try:
            ws_url = desktop_server.ws + f"/computers/{cid}/desktop/vnc"
            for kwargs, status in [({}, 401),
                                   ({"subprotocols": ["binary", protocol("not-a-token-of-this-server")]}, 401),
                                   ({"subprotocols": ["binary", "lmc.token.%%%"]}, 401),
                                   ({"additional_headers": desktop_server.headers(1)}, 404),  # another user's
                                   ({"additional_headers": desktop_server.headers(),
                                     "origin": "https://evil.example"}, 403)]:
                with pytest.raises(InvalidStatus) as refused:
                    connect(ws_url, **kwargs)  # type: ignore[arg-type]
                assert refused.value.response.status_code == status, kwargs
            for path in (f"/computers/{cid}/desktop", f"/computers/{cid}/desktop/screenshot"):
                assert client.get(path).status_code == 401
                assert client.get(path, headers=desktop_server.headers(1)).status_code == 404
            missing = client.get(f"/computers/{plain}/desktop", headers=desktop_server.headers())
            assert missing.status_code == 404 and 'create it with "desktop": true' in missing.json()["message"]
        finally:
            client.delete(f"/computers/{cid}", headers=desktop_server.headers())
            client.delete(f"/computers/{plain}", headers=desktop_server.headers())
