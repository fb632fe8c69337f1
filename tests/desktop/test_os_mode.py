"""OS mode end to end: `lmc chat --os` on its own virtual desktop, a scripted vision model
(real litellm over HTTP) that starts the Tk app, clicks and types; the app's state proves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from desktop_app import OWNER, AppState

from orchestrator.models.scripted_server import ScriptedServer, text, tool_call

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("tk_app.py")


def _os_chat(server: ScriptedServer, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        LMC_DATA_DIR=str(tmp_path / "data"),
        LMC_VISION="true",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    env.pop("DISPLAY", None)  # the session must make its own desktop, not find one
    args = ["chat", "--os", "--desktop", "virtual", "-y", "--format", "json", "--model", "openai/scripted",
            "--api-base", server.url, "--api-key", "test-key", *extra, "Press Submit, then type hello"]
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=240)


@pytest.mark.parametrize("where", ["here", pytest.param("ray", marks=pytest.mark.ray)])
def test_os_mode_completes_a_gui_task_on_a_virtual_desktop(tmp_path: Path, where: str) -> None:
    """In this process, and with --ray: the orchestrator actor drives a device actor's desktop (its own Xvfb)
    and runs the sandbox on that node; the same script gives the same result."""
    app = AppState(tmp_path / "state.json")
    start_app = f"{sys.executable} {APP} {app.path} > {tmp_path}/app.log 2>&1 &"
    wait_for_app = (
        "import json, os, time\n"
        f"while not os.path.exists({str(app.path)!r}):\n    time.sleep(0.1)\n"
        "time.sleep(1.0)\nprint('app is up')\n" + OWNER
    )
    act = (
        "computer.mouse.click('Submit')\n"
        # the app redraws its label when it gets to it: on a loaded machine that is after the click returns
        "import time\ndeadline = time.time() + 30\n"
        "while not (found := computer.display.find_text('Clicked Submit')) and time.time() < deadline:\n"
        "    time.sleep(0.2)\n"
        "box = found[0]\n"
        "print('label at', box['left'], box['top'])"
    )
    entry = f"boxes = json.load(open({str(app.path)!r}))['boxes']['entry']\n"
    type_hello = (
        "import json, time\n" + entry + "computer.mouse.click(boxes[0] + 20, boxes[1] + boxes[3] // 2)\n"
        # keys typed before Tk has handled the click go to no widget: wait until the field has the focus
        "deadline = time.time() + 30\n"
        f"while not json.load(open({str(app.path)!r}))['entry_focus'] and time.time() < deadline:\n"
        "    time.sleep(0.05)\n"
        "computer.keyboard.write('hello')\ncomputer.keyboard.press('enter')"
    )
    script = [
        tool_call("shell", start_app),
        tool_call("python", wait_for_app),
        tool_call("python", act),
        tool_call("python", type_hello),
        text("Done: Submit was pressed and hello typed."),
    ]
    with ScriptedServer(script) as server:
        result = _os_chat(server, tmp_path, *(["--ray"] if where == "ray" else []))
        requests = list(server.requests)
    assert result.returncode == 0, result.stderr[-2000:]
    state = app.read()
    assert state["clicks"].get("Submit@20") == 1, state
    assert state["entry"] == "hello" and state["label"] == "hello", state
    chunks = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    outputs = "".join(c.get("content", "") for c in chunks if c.get("type") == "console"
                      and isinstance(c.get("content"), str))
    assert "app is up" in outputs and "label at" in outputs
    owner = [line for line in outputs.splitlines() if line.startswith("display ")]
    assert len(owner) == 1, outputs
    # with --ray the desktop belongs to a device actor (a Ray worker), not to the lmc process
    assert ("ray::DeviceHost" in owner[0]) == (where == "ray"), owner
    assert "is shown a screenshot after each step" in result.stderr
    # every step after the first was shown to the model with a screenshot of the desktop
    assert len(requests) == 5
    images = ["image_url" in json.dumps(r["messages"][-2:]) for r in requests[1:]]
    assert all(images), images
    assert "Screen text (OCR)" not in json.dumps([r["messages"] for r in requests])  # screenshots, not OCR text
    system = requests[0]["messages"][0]["content"]
    assert "OS mode" in system and "computer.mouse.click" in system
