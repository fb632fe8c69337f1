"""A docker sandbox with a desktop of its own: its GUI app is driven the same from host code and from code in it.

The desktop (Xvfb and openbox) runs on the host, only its X socket is mounted; the app runs in the
container. The app's saved file proves where each input landed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.desktop import DesktopConfig
from devices.xdisplay import socket_path
from executors.docker.errors import InvalidDockerConfig
from executors.docker.executor import DockerConfig, DockerExecutor
from executors.docker.pool import PoolConfig, SandboxPool
from orchestrator.computer import Computer
from tests.contract.helpers import text

pytestmark = [pytest.mark.docker, pytest.mark.desktop]

DESKTOP = DesktopConfig(width=800, height=600, window_manager="openbox")
#: a Tk app in the sandbox: an entry and a Save button that writes the entry to /tmp/saved.txt
APP = '''
import json, tkinter as tk
root = tk.Tk()
root.title("Sandbox notes")
root.geometry("400x200+0+0")
entry = tk.Entry(root)
entry.pack(pady=10)
def save():
    open("/tmp/saved.txt", "w").write(entry.get())
button = tk.Button(root, text="Save", command=save)
button.pack()
def publish():
    root.update_idletasks()
    spots = {name: [w.winfo_rootx() + w.winfo_width() // 2, w.winfo_rooty() + w.winfo_height() // 2]
             for name, w in (("entry", entry), ("save", button))}
    state = {"spots": spots, "focus": root.focus_get() is entry, "entry": entry.get()}
    json.dump(state, open("/tmp/widgets.tmp", "w"))
    __import__("os").rename("/tmp/widgets.tmp", "/tmp/widgets.json")
    root.after(300, publish)  # again and again: the window manager moves the window when it frames it
root.after(300, publish)
root.mainloop()
'''


def _start_app(computer: Computer) -> dict[str, list[int]]:
    """Start the app in the sandbox; its widgets' centres once its window is up and has stopped moving
    (openbox frames it after it maps: on a loaded machine the first positions the app saw were stale)."""
    computer.files.write("/tmp/app.py", APP.encode())
    computer.run("shell", "setsid python3 /tmp/app.py > /tmp/app.log 2>&1 < /dev/null &")
    deadline = time.monotonic() + 30
    while not computer.windows.find("Sandbox notes") or "widgets" not in text(
            computer.run("shell", "ls /tmp")):
        assert time.monotonic() < deadline, text(computer.run("shell", "cat /tmp/app.log"))
        time.sleep(0.2)
    seen: list[dict[str, list[int]]] = []
    while len(seen) < 2 or seen[-1] != seen[-2]:  # the same spots twice, a second apart
        assert time.monotonic() < deadline, f"the app's widgets kept moving: {seen[-3:]}"
        if seen:
            time.sleep(1.0)
        seen.append(_app_state(computer)["spots"])
    return seen[-1]


def _app_state(computer: Computer) -> dict[str, Any]:
    """What the app last published: its widgets' centres, whether the entry has the focus, the entry's text."""
    state: dict[str, Any] = json.loads(text(computer.run("shell", "cat /tmp/widgets.json")))
    return state


def _wait_for(computer: Computer, check: Callable[[dict[str, Any]], bool], what: str) -> None:
    """Until the app's published state passes `check` (it publishes every 0.3 s); fails naming `what`."""
    deadline = time.monotonic() + 20
    while not check(state := _app_state(computer)):
        assert time.monotonic() < deadline, f"{what}; the app's state: {state}"
        time.sleep(0.2)


@pytest.fixture
def computer() -> Iterator[Computer]:
    with Computer(DockerExecutor(DockerConfig(desktop=DESKTOP))) as made:
        yield made


def test_host_and_sandbox_code_drive_the_sandboxs_own_desktop(computer: Computer) -> None:
    # the sandbox's GUI programs see the desktop's size; the host's devices see the same screen
    assert text(computer.run("python", "import tkinter\nr = tkinter.Tk()\nprint(r.winfo_screenwidth(), "
                                       "r.winfo_screenheight())")) == "800 600\n"
    assert tuple(computer.display.size()) == (800, 600)
    spots = _start_app(computer)
    # code in the sandbox clicks and types through computer.* (answered by the host's devices)
    # (keys typed before the click's focus reached the entry would go nowhere: the code waits for the focus,
    # as the app reports it, so a loaded machine cannot drop them)
    x, y = spots["entry"]
    inside = (f"import json, time\ncomputer.mouse.click({x}, {y})\ndeadline = time.monotonic() + 20\n"
              "while not json.load(open('/tmp/widgets.json'))['focus']:\n"
              "    assert time.monotonic() < deadline, 'the click gave the entry no focus'\n"
              "    time.sleep(0.1)\n"
              "computer.keyboard.write('typed inside')\nprint('ok')")
    assert text(computer.run("python", inside)) == "ok\n"
    _wait_for(computer, lambda state: state["entry"] == "typed inside", "the keys typed inside never reached the entry")
    # host code clicks the app's button in the container
    computer.mouse.click(*spots["save"])
    deadline = time.monotonic() + 10
    while "typed inside" not in text(computer.run("shell", "cat /tmp/saved.txt 2>/dev/null; true")):
        assert time.monotonic() < deadline, "the host's click on Save did not reach the app in the sandbox"
        time.sleep(0.2)
    # one clipboard: copied on the host, read in the sandbox by computer.* and by xclip
    computer.clipboard.copy("shared clip")
    assert text(computer.run("python", "print(computer.clipboard.view())")) == "shared clip\n"
    assert text(computer.run("shell", "xclip -o -selection clipboard")).strip() == "shared clip"


def test_the_desktop_stops_with_the_sandbox() -> None:
    computer = Computer(DockerExecutor(DockerConfig(desktop=DesktopConfig())))
    display = computer.executor.screen()["DISPLAY"]  # type: ignore[attr-defined]
    assert socket_path(display).exists()
    computer.close()
    assert not socket_path(display).exists()


def test_a_warm_pool_keeps_desktops_ready() -> None:
    with SandboxPool(PoolConfig(size=1, sandbox=DockerConfig(desktop=DesktopConfig(width=640, height=480)))) as pool:
        assert pool.wait_ready(timeout=120), pool.last_error
        waiting = pool._ready[0]
        assert waiting.desktop is not None and waiting.desktop.alive()  # Xvfb up before anyone asks
        with Computer(DockerExecutor(pool=pool)) as computer:
            assert computer.executor.screen() == waiting.desktop.env()  # type: ignore[attr-defined]
            assert tuple(computer.display.size()) == (640, 480)
        assert not waiting.desktop.alive()


def test_a_display_and_a_desktop_together_are_refused() -> None:
    with pytest.raises(InvalidDockerConfig, match="both display"):
        DockerConfig(display=":0", desktop=DesktopConfig())


def test_sandboxes_with_desktops_one_after_another_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # the first desktop's Xauthority file goes with it; the next window manager's check must not need it
    monkeypatch.delenv("XAUTHORITY", raising=False)
    for width in (640, 700):
        with Computer(DockerExecutor(DockerConfig(desktop=DesktopConfig(width=width, window_manager="openbox")))) as c:
            assert tuple(c.display.size()) == (width, 800)
            assert c.windows.list() == []


def test_a_fleet_session_in_docker_draws_on_its_own_desktop(tmp_path: Path) -> None:
    from orchestrator.fleet.fleet import Budget, Fleet, FleetConfig, SandboxConfig, SessionSpec
    from orchestrator.models.scripted_server import ScriptedServer, tool_call
    from orchestrator.models.scripted_server import text as reply
    from orchestrator.settings import Settings

    probe = "import tkinter\nr = tkinter.Tk()\nprint('screen', r.winfo_screenwidth(), r.winfo_screenheight())"
    with ScriptedServer() as server:
        server.add(tool_call("python", probe), reply("done"))
        settings = Settings(model="openai/scripted", api_base=server.url, api_key="x", mode="tools",
                            data_dir=tmp_path, context_window=32768, retry_delay=0.01, max_retries=0)
        spec = SessionSpec("gui", "go", settings, Budget(steps=3), DesktopConfig(width=640, height=480))
        with Fleet(FleetConfig(sandbox=SandboxConfig("docker"))) as fleet:
            [result] = list(fleet.run([spec]))
        told = json.dumps(server.requests[1]["messages"])
    assert result.failure is None, result.detail
    assert "screen 640 480" in told, told[-600:]
