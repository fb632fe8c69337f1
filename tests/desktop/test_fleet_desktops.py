"""Desktop sessions in a Fleet: each gets its own desktop and devices (a device actor on Ray, a DeviceHost in
threads), and the model's code drives its own Tk app through computer.* (real Xvfb, OCR, litellm over HTTP)."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
from desktop_app import OWNER, AppState

from devices.desktop import DesktopConfig
from orchestrator.fleet.fleet import Fleet, FleetConfig
from orchestrator.fleet.spec import Budget, SessionSpec
from orchestrator.models.scripted_server import ScriptedServer, text, tool_call
from orchestrator.session.store import ConversationStore
from orchestrator.settings import Settings

APP = Path(__file__).with_name("tk_app.py")


def _script(app: AppState, barrier: Path, sessions: int) -> list[object]:
    """Start the app, wait until every session's app is up (so they provably run at once), click by text."""
    wait = (
        "import os, time\n"
        f"while not os.path.exists({str(app.path)!r}):\n    time.sleep(0.1)\n"
        f"open({str(barrier)!r} + '/' + os.environ['DISPLAY'].replace(':', 'd'), 'w').close()\n"
        "deadline = time.time() + 240\n"
        f"while len(os.listdir({str(barrier)!r})) < {sessions} and time.time() < deadline:\n    time.sleep(0.2)\n"
        f"print('sessions up together:', len(os.listdir({str(barrier)!r})))\n" + OWNER
    )
    click = (
        "computer.mouse.click('Submit')\n"
        "import time\ndeadline = time.time() + 60\n"
        "while not computer.display.find_text('Clicked Submit') and time.time() < deadline:\n    time.sleep(0.2)\n"
        "print('size', computer.display.size())"
    )
    return [tool_call("shell", f"{sys.executable} {APP} {app.path} > /dev/null 2>&1 &"),
            tool_call("python", wait), tool_call("python", click), text("Done.")]


def _outputs(data: Path, conversation: str) -> str:
    messages = ConversationStore(data).load(conversation)
    return "".join(str(m.content) for m in messages if m.role == "computer" and m.type == "console")


@pytest.mark.parametrize("where", [pytest.param("ray", marks=pytest.mark.ray), "threads"])
def test_four_desktop_sessions_at_once_each_drive_their_own_desktop(tmp_path: Path, where: str) -> None:
    sessions = 4
    barrier = tmp_path / "up"
    barrier.mkdir()
    apps = [AppState(tmp_path / f"app{i}.json") for i in range(sessions)]
    with ExitStack() as stack:
        servers = [stack.enter_context(ScriptedServer(_script(apps[i], barrier, sessions))) for i in range(sessions)]
        specs = [SessionSpec(f"desk{i}", "press Submit", Settings(
            model="openai/scripted", api_base=servers[i].url, api_key="x", mode="tools", data_dir=tmp_path / "data",
            context_window=32768), Budget(steps=8, wall_time=300), desktop=DesktopConfig(width=800, height=600))
            for i in range(sessions)]
        config = FleetConfig(max_sessions=sessions, max_retries=0, ray=where == "ray", workers=1)
        with Fleet(config) as fleet:
            results = sorted(fleet.run(specs), key=lambda r: r.id)
    assert [(r.id, r.status, r.failure) for r in results] == [(f"desk{i}", "complete", None)
                                                              for i in range(sessions)], \
        "\n".join(f"{r.id}: {r.status} {r.failure} after {r.wall_time:.0f} s: {r.detail}" for r in results)
    seen = []
    for i, app in enumerate(apps):
        assert app.read()["clicks"].get("Submit@20") == 1, (i, app.read())  # its own app, clicked once
        out = _outputs(tmp_path / "data", f"desk{i}")
        assert f"sessions up together: {sessions}" in out and "size [800, 600]" in out, out
        [line] = [x for x in out.splitlines() if x.startswith("display ")]
        seen.append(line.split()[1])
        # on Ray the desktop belongs to a device actor (a Ray worker of its own), else to this test's process
        assert ("ray::DeviceHost" in line) == (where == "ray"), line
    assert len(set(seen)) == sessions, seen  # four desktops, not one shared
