"""`lmc serve --ray` with `"desktop": true`: two real replicas on a real local Ray that offers 2 screens.

A desktop computer made through one replica is a device actor (its own Xvfb) and a sandbox on that
actor's node: the Tk test app started in the sandbox draws there, and computer.mouse.click('Submit')
sent through the other replica presses its button. Its live view is screenshots taken through the
device actor (PNG; `fallback` says why there is no VNC). A third desktop while both screens are taken
is refused (409 busy) without waiting forever; closing the computer ends its Xvfb. A desktop
conversation with a scripted model clicks the same way, and its screenshot comes through either replica.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from orchestrator.client import Connection
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.server.errors import Busy
from tests.desktop.desktop_app import AppState
from tests.server.helpers import TOKENS, Served, pids_on, start, stop, url_in

pytestmark = [pytest.mark.ray, pytest.mark.desktop,
              pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/test installs it)")]

APP = Path(__file__).resolve().parents[1] / "desktop" / "tk_app.py"
#: screens (the `display` resource) the test cluster offers
SCREENS = 2


@dataclass
class Replicas:
    """Two `lmc serve --ray` processes on one cluster with screens."""

    a: Served
    b: Served

    def conn(self, served: Served) -> Connection:
        """A client of one replica (the first token)."""
        return Connection(served.url, served.tokens[0])


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """A local Ray offering SCREENS `display` slots (ray.shutdown ends only it), two replicas joined to it."""
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    assert not ray.is_initialized(), "this module starts its own Ray (with screens)"
    ray.init(address="local", num_cpus=2, resources={"display": SCREENS}, include_dashboard=False,
             log_to_driver=False)
    address = str(ray.get_runtime_context().gcs_address)
    home = tmp_path_factory.mktemp("serve-ray-desktop")
    (home / "tokens").write_text("\n".join(TOKENS) + "\n")
    (home / "tokens").chmod(0o600)
    served = []
    try:
        for name in ("a", "b"):
            log = home / f"{name}.log"
            proc, lines = start(["--token-file", str(home / "tokens"), "--ray", "--address", address], home, log,
                                env={"DISPLAY": ""})
            served.append(Served(url_in(lines), TOKENS, log, proc, lines))
        yield Replicas(*served)
    finally:
        for each in served:
            stop(each.proc)
        ray.shutdown()


def _output(chunks: Any) -> str:
    return "".join(str(c.content) for c in chunks if c.format == "output" and c.content)


def _xvfb_gone(display: str, timeout: float = 60.0) -> bool:
    """Whether the X server of `display` (on this machine, the cluster's only node) ends within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pids_on("Xvfb", display) and not Path(f"/tmp/.X11-unix/X{display.split(':')[-1]}").exists():
            return True
        time.sleep(0.2)
    return False


def _png_size(content: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    return image.size


def _start_app(state: Path) -> str:
    """Python for the sandbox: start the Tk app on the sandbox's DISPLAY and wait for its first state."""
    return (
        "import subprocess, sys, os, time\n"
        f"subprocess.Popen([sys.executable, {str(APP)!r}, {str(state)!r}], stdout=subprocess.DEVNULL, "
        "stderr=subprocess.DEVNULL, start_new_session=True)\n"
        f"while not os.path.exists({str(state)!r}):\n    time.sleep(0.1)\n"
        "time.sleep(1.0)\nprint('app is up on', os.environ['DISPLAY'])\n"
    )


#: python for the sandbox: click the button by its text, on the device actor's screen
CLICK = "computer.mouse.click('Submit')\nprint('clicked')\n"


def test_a_desktop_computer_is_a_device_actor_reached_through_any_replica(replicas: Replicas,
                                                                        tmp_path: Path) -> None:
    a, b = replicas.conn(replicas.a), replicas.conn(replicas.b)
    made = a.call("POST", "/computers", {"backend": "local", "desktop": True}).json()
    assert made["desktop"] is True
    path = f"/computers/{made['id']}"
    app = AppState(tmp_path / "state.json")
    others: list[str] = []
    try:
        info = b.call("GET", f"{path}/desktop").json()
        assert info["vnc"] is False and "device actor" in info["fallback"], info
        assert (info["width"], info["height"]) == (1280, 800) and info["node"], info
        # the sandbox's GUI programs draw on the device actor's screen
        assert f"app is up on {info['display']}" in _output(a.stream(f"{path}/run", {
            "language": "python", "code": _start_app(app.path)}))
        # computer.* through the other replica: click by text (OCR in the device actor) reaches the Tk app
        assert "clicked" in _output(b.stream(f"{path}/run", {"language": "python", "code": CLICK}))
        app.wait(lambda s: s["clicks"].get("Submit@20") == 1, timeout=30)
        shot = b.call("GET", f"{path}/desktop/screenshot")
        assert shot.headers["content-type"] == "image/png" and _png_size(shot.content) == (1280, 800)
        # the cluster's screens bound the desktops: with both taken, one more is refused, not waited for forever
        others.append(a.call("POST", "/computers", {"backend": "local", "desktop": True}).json()["id"])
        with pytest.raises(Busy, match="display"):
            b.call("POST", "/computers", {"backend": "local", "desktop": True})
        assert sorted(c["id"] for c in a.call("GET", "/computers").json()) == sorted([made["id"], *others])
    finally:
        for each in [made["id"], *others]:
            b.call("DELETE", f"/computers/{each}")
    # closing the computer ended its device actor, and the desktop with it
    assert _xvfb_gone(info["display"])


def test_a_desktop_conversation_clicks_on_its_device_actors_screen(replicas: Replicas, tmp_path: Path) -> None:
    a, b = replicas.conn(replicas.a), replicas.conn(replicas.b)
    app = AppState(tmp_path / "state.json")
    script = [tool_call("python", _start_app(app.path)), tool_call("python", CLICK),
              text("Done: Submit was pressed.")]
    with ScriptedServer(script) as model:
        made = a.call("POST", "/conversations", {
            "model": "openai/scripted", "api_base": model.url, "api_key": "sk-test", "mode": "tools",
            "auto_run": True, "desktop": True}).json()
        path = f"/conversations/{made['id']}"
        try:
            assert made["desktop"] is True and b.call("GET", path).json()["desktop"] is True
            chunks = list(b.stream(f"{path}/messages", {"content": "Press Submit"}))
            output = _output(chunks)
            assert "app is up on" in output and "clicked" in output, output
            app.wait(lambda s: s["clicks"].get("Submit@20") == 1, timeout=30)
            # OS mode: the model was told about the screen
            assert "computer.mouse.click" in json.dumps(model.requests[0]["messages"][0])
            info = a.call("GET", f"{path}/desktop").json()
            assert info["vnc"] is False and "device actor" in info["fallback"], info
            shot = a.call("GET", f"{path}/desktop/screenshot")
            assert _png_size(shot.content) == (info["width"], info["height"])
        finally:
            a.call("DELETE", path)
    assert _xvfb_gone(info["display"])

