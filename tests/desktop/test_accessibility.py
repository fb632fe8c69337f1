"""The accessibility device on a real Xvfb with a real GTK3 app (AT-SPI over the desktop's own D-Bus).

The app writes what GTK itself knows (its widgets' boxes, the clicks it got) to a JSON file, so the
tree and the clicks are checked against the app, not against the device's own answers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_app import AppState, running

from devices.accessibility import (
    LAUNCHER,
    Accessibility,
    AccessibilityConfig,
    AccessibilityUnavailable,
    AmbiguousElement,
    ElementNotFound,
)
from devices.desktop import DesktopConfig, VirtualDesktop
from devices.errors import DeviceUsageError
from devices.facade import Devices, DevicesConfig
from devices.scaling import Scaling
from devices.windows import Windows

APP = Path(__file__).with_name("gtk_app.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi; ours need not have gi


def _missing() -> str:
    if shutil.which("dbus-daemon") is None or not LAUNCHER.exists():
        return "dbus-daemon or at-spi2-core is missing"
    probe = [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"]
    if not os.path.exists(SYSTEM_PYTHON) or subprocess.run(probe, capture_output=True).returncode != 0:
        return "Debian's python3 has no GTK 3 bindings"
    return ""


pytestmark = pytest.mark.skipif(bool(_missing()), reason=f"{_missing()}: apt-get install dbus-daemon at-spi2-core "
                                "python3-gi gir1.2-gtk-3.0 (scripts/test does)")


def start_app(desktop: VirtualDesktop, state: Path, title: str = "lmc gtk app") -> subprocess.Popen[bytes]:
    return subprocess.Popen([SYSTEM_PYTHON, str(APP), str(state), title], env=dict(os.environ, **desktop.env()))


@pytest.fixture()
def app(desktop: VirtualDesktop, tmp_path: Path) -> Iterator[AppState]:
    """The GTK test app on the desktop, its widgets laid out."""
    state = AppState(tmp_path / "gtk.json")
    with running([SYSTEM_PYTHON, str(APP), str(state.path), "lmc gtk app"], desktop.env(), state,
                 lambda s: s["boxes"]["Submit#0"][2] > 1, timeout=20) as started:
        yield started


def walk(node: dict[str, object]) -> Iterator[dict[str, object]]:
    yield node
    for child in node.get("children", []):  # type: ignore[attr-defined]
        yield from walk(child)


def test_the_tree_shows_the_apps_window_and_buttons_where_gtk_put_them(devices: Devices, app: AppState) -> None:
    started = time.perf_counter()
    tree = devices.call("accessibility.tree")
    took = time.perf_counter() - started
    started = time.perf_counter()
    devices.call("accessibility.tree")
    print(f"tree of the GTK app: {took * 1000:.0f} ms first, {(time.perf_counter() - started) * 1000:.0f} ms again")
    assert isinstance(tree, dict) and tree["role"] == "desktop frame"
    nodes = list(walk(tree))
    frames = [n for n in nodes if n.get("role") == "frame" and n["name"] == "lmc gtk app"]
    assert len(frames) == 1, nodes
    frame, gtk = frames[0], app.read()
    assert [frame["left"], frame["top"], frame["width"], frame["height"]] == gtk["window"]
    buttons = [n for n in walk(frame) if n.get("role") == "push button"]
    assert [b["name"] for b in buttons] == ["Submit", "Cancel", "Open", "Open"]
    for button, key in zip(buttons, ("Submit#0", "Cancel#1", "Open#2", "Open#3"), strict=True):
        assert [button["left"], button["top"], button["width"], button["height"]] == gtk["boxes"][key]
        assert frame["left"] <= button["left"] and button["left"] + button["width"] <= frame["left"] + frame["width"]
        assert frame["top"] <= button["top"] and button["top"] + button["height"] <= frame["top"] + frame["height"]
        assert (button["x"], button["y"]) == (button["left"] + button["width"] // 2,
                                              button["top"] + button["height"] // 2)
        assert "showing" in button["states"]


def test_bounds_cut_the_tree_and_say_how_much_was_left_out(devices: Devices, app: AppState) -> None:
    shallow = devices.accessibility.tree(window="gtk app", max_depth=1)
    assert shallow["role"] == "frame" and shallow["name"] == "lmc gtk app"
    (filler,) = shallow["children"]
    assert "children" not in filler and filler["more"] == 4  # the button row, the label, the text field, the check box
    few = devices.accessibility.tree(max_nodes=3)
    assert len(list(walk(few))) == 3
    with pytest.raises(DeviceUsageError, match="max_nodes must be a whole number >= 1"):
        devices.accessibility.tree(max_nodes=0)


def test_the_active_window_is_the_one_with_the_x_focus(devices: Devices, app: AppState) -> None:
    devices.windows.activate("lmc gtk app")
    tree = devices.call("accessibility.tree", kwargs={"window": "active"})
    assert isinstance(tree, dict) and (tree["role"], tree["name"]) == ("frame", "lmc gtk app")


def test_find_by_role_and_name_finds_exactly_the_button(devices: Devices, app: AppState) -> None:
    found = devices.call("accessibility.find", kwargs={"role": "push button", "name": "submit"})
    assert isinstance(found, list) and len(found) == 1
    assert found[0]["name"] == "Submit" and "children" not in found[0]
    assert [found[0]["left"], found[0]["top"], found[0]["width"], found[0]["height"]] == app.read()["boxes"]["Submit#0"]
    assert len(devices.accessibility.find(name="OPEN")) == 2
    assert devices.accessibility.find(role="slider") == []
    (remember,) = devices.accessibility.find(role="check box")
    assert remember["name"] == "Remember me" and "disabled" in remember["states"]
    assert "disabled" not in found[0]["states"]
    with pytest.raises(DeviceUsageError, match="check box 'Remember me' at x=.* is disabled"):
        devices.accessibility.click(name="remember")
    assert app.read()["clicks"] == {}
    with pytest.raises(DeviceUsageError, match="give role="):
        devices.accessibility.find()


def test_click_by_role_and_name_presses_the_button(devices: Devices, app: AppState) -> None:
    clicked = devices.call("accessibility.click", kwargs={"role": "push button", "name": "Submit"})
    assert isinstance(clicked, dict) and clicked["clicked"] == "action click" and clicked["name"] == "Submit"
    state = app.wait(lambda s: s["clicks"].get("Submit#0") == 1)
    assert state["label"] == "Clicked Submit" and set(state["clicks"]) == {"Submit#0"}


def test_an_element_without_a_click_action_is_clicked_with_the_mouse(devices: Devices, app: AppState) -> None:
    (field,) = devices.accessibility.find(role="text")
    assert [field["left"], field["top"], field["width"], field["height"]] == app.read()["entry"]
    clicked = devices.call("accessibility.click", kwargs={"role": "text"})
    assert isinstance(clicked, dict) and clicked["clicked"] == "mouse"
    assert devices.mouse.position() == {"x": field["x"], "y": field["y"]}
    app.wait(lambda s: s["entry_focus"] >= 1)
    assert devices.accessibility.find(role="text")[0]["states"].count("focused") == 1


def test_none_or_several_matches_are_errors_listing_what_is_there(devices: Devices, app: AppState) -> None:
    with pytest.raises(ElementNotFound, match=r"no push button named like 'Sbmit'.*push button 'Submit' at x=\d+"):
        devices.call("accessibility.click", kwargs={"role": "push button", "name": "Sbmit"})
    with pytest.raises(AmbiguousElement, match=r"2 elements match push button named like 'open': 1\. push button "
                       r"'Open' at x=\d+, y=\d+ id='(:[\d.]+/[\w/]+)'; 2\.") as several:
        devices.accessibility.click(role="push button", name="open")
    assert app.read()["clicks"] == {}
    second = str(several.value).split("2. ", 1)[1].split("id='", 1)[1].split("'", 1)[0]
    devices.accessibility.click(id=second)  # the id an error (or find) gave picks one
    app.wait(lambda s: s["clicks"] == {"Open#3": 1})


def test_boxes_follow_the_coordinate_scaling(desktop: VirtualDesktop, app: AppState) -> None:
    scaled = Devices(desktop.display, DevicesConfig(scaling=Scaling("xga")), xauthority=desktop.env()["XAUTHORITY"])
    try:
        (button,) = scaled.call("accessibility.find", kwargs={"name": "Cancel"})  # type: ignore[misc]
    finally:
        scaled.close()
    left, top, width, _ = app.read()["boxes"]["Cancel#1"]
    assert button["left"] == round(left * 1024 / 1280) and button["top"] == round(top * 768 / 800)
    assert button["x"] == round((left + width // 2) * 1024 / 1280)


def test_an_app_that_does_not_answer_is_marked_not_waited_on(desktop: VirtualDesktop, app: AppState,
                                                            tmp_path: Path) -> None:
    frozen = start_app(desktop, tmp_path / "frozen.json", "frozen app")
    devices = Devices(desktop.display, DevicesConfig(accessibility=AccessibilityConfig(call_timeout=1.0)),
                      xauthority=desktop.env()["XAUTHORITY"])
    try:
        AppState(tmp_path / "frozen.json").wait(lambda s: s["boxes"]["Submit#0"][2] > 1, timeout=20)
        assert len(devices.accessibility.find(role="frame")) == 2
        frozen.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        tree = devices.accessibility.tree()
        assert time.monotonic() - started < 30  # one wait per silent app, not one per call
        apps = tree["children"]
        silent = [a for a in apps if "error" in a]
        assert len(silent) == 1 and "did not answer within 1 s" in silent[0]["error"]
        names = [n["name"] for n in walk(tree) if n.get("role") == "frame"]
        assert names == ["lmc gtk app"]
        assert devices.accessibility.click(role="push button", name="Cancel")["clicked"] == "action click"
        app.wait(lambda s: s["clicks"] == {"Cancel#1": 1})
    finally:
        frozen.send_signal(signal.SIGCONT)
        frozen.kill()
        frozen.wait(timeout=10)
        devices.close()


def test_a_display_without_an_accessibility_bus_says_what_to_do(tmp_path: Path) -> None:
    with VirtualDesktop(DesktopConfig(width=640, height=480, accessibility=False)) as bare:
        assert "DBUS_SESSION_BUS_ADDRESS" not in bare.env()
        devices = Devices(bare.display, xauthority=bare.env()["XAUTHORITY"])
        try:
            with pytest.raises(AccessibilityUnavailable, match=rf"X display {bare.display} has no accessibility bus "
                               r"\(no AT_SPI_BUS property on its root window\)\. lmc's virtual desktops"):
                devices.call("accessibility.tree")
            with pytest.raises(AccessibilityUnavailable):
                devices.accessibility.click(role="push button", name="Submit")
        finally:
            devices.close()


def test_this_machines_screen_is_found_through_its_session_bus(desktop: VirtualDesktop, app: AppState,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The display in $DISPLAY with no AT_SPI_BUS property: the session bus's org.a11y.Bus gives the address."""
    with VirtualDesktop(DesktopConfig(width=640, height=480, accessibility=False)) as host:
        monkeypatch.setenv("DISPLAY", host.display)
        monkeypatch.delenv("AT_SPI_BUS_ADDRESS", raising=False)
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", desktop.env()["DBUS_SESSION_BUS_ADDRESS"])
        devices = Devices(host.display, xauthority=host.env()["XAUTHORITY"])
        try:
            assert [b["name"] for b in devices.accessibility.find(role="push button")][:1] == ["Submit"]
            devices.accessibility.close()
            monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
            with pytest.raises(AccessibilityUnavailable, match="no AT_SPI_BUS root window property and no "
                               "DBUS_SESSION_BUS_ADDRESS"):
                devices.accessibility.tree()
        finally:
            devices.close()


def test_a_bus_that_never_answers_is_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "mute"
    with socket.socket(socket.AF_UNIX) as mute:  # accepts connections and never says a word
        mute.bind(str(path))
        mute.listen()
        device = Accessibility(":0", Windows(":0"), config=AccessibilityConfig(connect_timeout=0.5),
                               bus=f"unix:path={path}")
        started = time.monotonic()
        with pytest.raises(AccessibilityUnavailable, match=r"cannot connect to the accessibility bus of :0 "
                           rf"\(unix:path={path}\): Did not authenticate in 0.5 seconds"):
            device.tree()
        assert time.monotonic() - started < 20


def test_without_jeepney_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jeepney", None)  # what an import of a missing package does
    device = Accessibility(":0", Windows(":0"), bus="unix:path=/nonexistent")
    with pytest.raises(AccessibilityUnavailable, match=r"needs jeepney .*pip install 'lmc\[desktop\]'"):
        device.find(role="push button")


def _stack(run_dir: Path) -> list[str]:
    """Processes whose environment names the desktop's private runtime folder (its bus and AT-SPI helpers)."""
    found = []
    marker = f"XDG_RUNTIME_DIR={run_dir}".encode()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def test_closing_the_desktop_ends_its_whole_accessibility_stack(tmp_path: Path) -> None:
    screen = VirtualDesktop(DesktopConfig(width=640, height=480)).start()
    run_dir = Path(screen.env()["DBUS_SESSION_BUS_ADDRESS"].split("path=", 1)[1].split(",")[0]).parent / "run"
    state = AppState(tmp_path / "gtk.json")
    proc = start_app(screen, state.path)
    devices = Devices(screen.display, xauthority=screen.env()["XAUTHORITY"])
    try:
        state.wait(lambda s: s["boxes"]["Submit#0"][2] > 1, timeout=20)
        assert len(devices.accessibility.find(role="push button", name="Submit")) == 1
        running = " | ".join(_stack(run_dir))
        assert "dbus-daemon --session" in running and "at-spi-bus-launcher" in running, running
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        devices.close()
        screen.close()
    deadline = time.monotonic() + 15
    while _stack(run_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _stack(run_dir) == []


def test_a_text_only_model_is_shown_the_focused_windows_elements_after_a_step(devices: Devices, app: AppState) -> None:
    """OS mode with a model that cannot see images: after each step it reads the screen's words (OCR), the
    windows and, for an app that exposes them, the focused window's elements with their click points."""
    from orchestrator.session.os_mode import ScreenComputer

    devices.windows.activate("lmc gtk app")
    computer = ScreenComputer("local", host=devices, screenshots=False)
    computer.ocr = True
    try:
        shown = [m for m in computer.run("python", "print('step')") if m.type == "console"]
    finally:
        computer.executor.close()  # the devices belong to the session's fixture
    seen = str(shown[-1].content)
    assert "Screen text (OCR)" in seen and "'lmc gtk app'" in seen, seen
    elements = seen[seen.index("Focused window's elements (accessibility):"):]
    submit = app.center("Submit#0")
    assert f"push button 'Submit'@{submit[0]},{submit[1]}" in elements, elements
    assert "check box" in elements and "[disabled]" in elements, elements  # the greyed-out check box says so
