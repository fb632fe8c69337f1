"""Window management on a real X server: bare Xvfb, and Xvfb with a real window manager (openbox).

Each request is checked from outside the device: the app's own state file, the process table, or a
fresh X connection (the device's own answers are not taken on trust).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_app import AppState, running

from devices.desktop import DesktopConfig, VirtualDesktop
from devices.errors import DesktopFailed, DeviceUsageError, UnknownCall
from devices.facade import Devices
from devices.windows import WindowError, WindowNotFound, Windows

APP = Path(__file__).with_name("tk_app.py")
#: a plain Tk window titled argv[1] that writes "closed" to argv[2] when asked to close
SMALL = (
    "import sys, tkinter as tk\n"
    "root = tk.Tk(); root.title(sys.argv[1]); root.geometry('320x200+500+400')\n"
    "def bye():\n    open(sys.argv[2], 'w').write('closed'); root.destroy()\n"
    "root.protocol('WM_DELETE_WINDOW', bye); root.mainloop()\n"
)

needs_openbox = pytest.mark.skipif(shutil.which("openbox") is None, reason="openbox is not installed: "
                                   "apt-get install openbox (scripts/test does)")


def other_connection_geometry(display: str, wid: int) -> tuple[int, int, int, int]:
    """The window's place and size as a separate X client (xwininfo) sees it."""
    out = subprocess.run(["xwininfo", "-id", str(wid)], env=dict(os.environ, DISPLAY=display),
                         capture_output=True, text=True, check=True).stdout
    values = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}
    return (int(values["Absolute upper-left X"]), int(values["Absolute upper-left Y"]),
            int(values["Width"]), int(values["Height"]))


# -- a bare X server (the session desktop of the other desktop tests) ------------------------------
def test_bare_server_lists_moves_resizes_and_focuses_the_app(devices: Devices, app: AppState) -> None:
    windows = devices.windows
    assert windows.manager() is None
    found = windows.find("lmc test app")
    assert len(found) == 1, windows.list()
    window = found[0]
    assert window["app"] == "Tk" and window["width"] == 900 and window["height"] == 640
    moved = windows.move("LMC TEST", 40, 30)  # part of the title, any case
    assert (moved["x"], moved["y"]) == (40, 30)
    app.wait(lambda s: s["boxes"]["Submit@20"][:2] == [60, 50])  # the app itself sees where it is now
    windows.resize(window["id"], 700, 500)
    assert other_connection_geometry(devices.display.display, window["id"])[2:] == (700, 500)
    windows.move(window["id"], 0, 0)
    windows.resize(window["id"], 900, 640)
    assert windows.activate(window["id"])["active"]
    devices.keyboard.press("escape")
    app.wait(lambda s: s["escapes"] == 1)


def test_window_names_that_match_nothing_or_several_are_refused_with_the_list(devices: Devices,
                                                                          app: AppState) -> None:
    with pytest.raises(WindowNotFound, match=r"no window 'nope'; open windows: \d+ 'lmc test app' \(Tk\)"):
        devices.windows.activate("nope")
    with pytest.raises(DeviceUsageError, match="by its id .* or part of its title"):
        devices.windows.close(3.5)  # type: ignore[arg-type]
    with pytest.raises(DeviceUsageError, match="whole number of pixels"):
        devices.windows.move("lmc test app", "10", 0)  # type: ignore[arg-type]
    with pytest.raises(DeviceUsageError, match="needs title= or app="):
        devices.windows.find()
    assert app.read()["escapes"] == 0


def test_sandboxed_code_reaches_window_calls_but_not_launch(devices: Devices, app: AppState) -> None:
    listed = devices.call("windows.list")
    assert isinstance(listed, list) and any(w["title"] == "lmc test app" for w in listed)
    with pytest.raises(UnknownCall, match="unknown computer call 'windows.launch'"):
        devices.call("windows.launch", ["xterm"])


# -- press and release, paths, dx/dy scrolling (the same app, on the bare server) --------------------
def test_mouse_down_move_up_is_a_drag(devices: Devices, app: AppState) -> None:
    left, top, _, _ = app.read()["boxes"]["canvas"]
    devices.mouse.down(left + 20, top + 20)
    devices.mouse.move(left + 120, top + 60)
    devices.mouse.move(left + 200, top + 90)
    devices.mouse.up()
    state = app.wait(lambda s: s["drag"] is not None and s["drag"]["to"] is not None)
    assert state["drag"] == {"from": [left + 20, top + 20], "to": [left + 200, top + 90]}


def test_drag_along_a_path(devices: Devices, app: AppState) -> None:
    left, top, _, _ = app.read()["boxes"]["canvas"]
    path = [[left + 10, top + 10], [left + 300, top + 10], [left + 300, top + 150], [left + 40, top + 170]]
    done = devices.mouse.drag(path=path)
    assert done == {"from": {"x": left + 10, "y": top + 10}, "to": {"x": left + 40, "y": top + 170}}
    state = app.wait(lambda s: s["drag"] is not None and s["drag"]["to"] is not None)
    assert state["drag"] == {"from": path[0], "to": path[-1]}
    with pytest.raises(DeviceUsageError, match="at least two"):
        devices.mouse.drag(path=[[1, 1]])
    with pytest.raises(DeviceUsageError, match="either path= or"):
        devices.mouse.drag(1, 1, path=[[1, 1], [2, 2]])


def test_keyboard_down_and_up_hold_a_modifier(devices: Devices, app: AppState) -> None:
    devices.mouse.click(*app.center("entry"))
    app.wait(lambda s: s["entry_focus"] >= 1)  # under openbox, keys sent before the focus lands go elsewhere
    devices.keyboard.down("shift")
    try:
        devices.keyboard.write("ab")
    finally:
        devices.keyboard.up("shift")
    devices.keyboard.write("c")
    app.wait(lambda s: s["entry"] == "ABc")


def test_scroll_by_dx_dy_in_screen_directions(devices: Devices, app: AppState) -> None:
    devices.mouse.scroll(dy=5, x=app.center("listbox")[0], y=app.center("listbox")[1])
    down = app.wait(lambda s: s["scroll_top"] > 0)
    devices.mouse.scroll(dy=-2)
    app.wait(lambda s: s["scroll_top"] < down["scroll_top"])
    with pytest.raises(DeviceUsageError, match="either amount .* or dx=/dy="):
        devices.mouse.scroll(3, dy=2)
    with pytest.raises(DeviceUsageError, match="needs an amount"):
        devices.mouse.scroll()


# -- a real window manager ---------------------------------------------------------------------------
@pytest.fixture()
def managed() -> Iterator[VirtualDesktop]:
    """A desktop of its own with openbox on it."""
    with VirtualDesktop(DesktopConfig(width=1024, height=768, window_manager="openbox")) as screen:
        yield screen


@needs_openbox
def test_launch_activate_move_resize_close_under_openbox(managed: VirtualDesktop, tmp_path: Path) -> None:
    windows = Windows(managed.display, xauthority=managed.env()["XAUTHORITY"])
    try:
        assert windows.manager() == "Openbox"
        state = AppState(tmp_path / "state.json")
        main = windows.launch([sys.executable, str(APP), str(state.path)])
        assert main["title"] == "lmc test app"
        assert str(APP) in Path(f"/proc/{main['pid']}/cmdline").read_text(), "launch names the app's process"
        marker = tmp_path / "closed"
        small = windows.launch([sys.executable, "-c", SMALL, "notes", str(marker)], title="notes")
        assert small["title"] == "notes" and small["id"] != main["id"]
        assert [w["title"] for w in windows.list()][-1] == "notes", "the newest window is on top"

        assert windows.activate("lmc test app")["active"]
        assert windows.active()["id"] == main["id"]  # type: ignore[index]
        assert [w["title"] for w in windows.list()][-1] == "lmc test app", "activating raised it"

        moved = windows.move(small["id"], 120, 90)
        assert (moved["x"], moved["y"]) == (120, 90)
        assert other_connection_geometry(managed.display, small["id"])[:2] == (120, 90)
        resized = windows.resize("notes", 400, 260)
        assert (resized["width"], resized["height"]) == (400, 260)
        assert other_connection_geometry(managed.display, small["id"])[2:] == (400, 260)

        windows.close("notes")
        assert marker.read_text() == "closed", "the app was asked to close (WM_DELETE_WINDOW), not killed"
        assert [w["title"] for w in windows.list()] == ["lmc test app"]
        os.kill(main["pid"], 15)
    finally:
        windows.close_connection()


def _openbox_of(display: str) -> int:
    """The pid of the openbox running on `display`."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "comm").read_text().strip() == "openbox" and \
                    f"DISPLAY={display}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                return int(proc.name)
        except OSError:
            continue
    raise AssertionError(f"no openbox on {display}")


@needs_openbox
def test_keys_typed_right_after_a_click_reach_the_field_while_openbox_is_slow(
        managed: VirtualDesktop, tmp_path: Path) -> None:
    """Another window has the focus; openbox is stopped for 0.3 s as the entry is clicked and typed into.

    openbox holds the press until it has focused the clicked window; keys sent meanwhile went to the
    other window (10 of 10 times before click() waited for the click's delivery).
    """
    env = managed.env()
    state = AppState(tmp_path / "state.json")
    windows = Windows(managed.display, xauthority=env["XAUTHORITY"])
    devices = Devices(managed.display, xauthority=env["XAUTHORITY"])
    with running([sys.executable, str(APP), str(state.path)], env, state, lambda s: s["boxes"]["entry"][2] > 1) as app:
        other = windows.launch([sys.executable, "-c", SMALL, "other", str(tmp_path / "closed")], title="other")
        try:
            assert windows.activate("other")["active"]
            manager = _openbox_of(managed.display)
            os.kill(manager, signal.SIGSTOP)
            wake = threading.Timer(0.3, os.kill, (manager, signal.SIGCONT))
            wake.start()
            try:
                devices.mouse.click(*app.center("entry"))
                devices.keyboard.write("typed while openbox slept")
            finally:
                wake.join()
                os.kill(manager, signal.SIGCONT)
            app.wait(lambda s: s["entry"] == "typed while openbox slept")
            deadline = time.monotonic() + 10  # openbox marks the window active as it handles its FocusIn
            while (windows.active() or {}).get("title") != "lmc test app":
                assert time.monotonic() < deadline, windows.active()
                time.sleep(0.02)
        finally:
            os.kill(other["pid"], signal.SIGTERM)
            devices.close()
            windows.close_connection()


@needs_openbox
def test_launch_failures_say_what_happened(managed: VirtualDesktop) -> None:
    windows = Windows(managed.display, xauthority=managed.env()["XAUTHORITY"])
    with pytest.raises(DeviceUsageError, match="cannot launch '/no/such/app': No such file"):
        windows.launch("/no/such/app")
    with pytest.raises(WindowError, match=r"exited with status 3 before it opened a window: boom"):
        windows.launch([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])
    with pytest.raises(WindowError, match=r"opened no a window titled like 'x' within 0.5 s; it is still running"):
        windows.launch(["sleep", "30"], title="x", timeout=0.5)
    with pytest.raises(DeviceUsageError, match="needs a command"):
        windows.launch("")
    windows.close_connection()


def test_a_missing_window_manager_is_named_with_its_package() -> None:
    with pytest.raises(DesktopFailed, match="'no-such-wm' is not installed: 'apt-get install no-such-wm'"):
        VirtualDesktop(DesktopConfig(window_manager="no-such-wm")).start()
