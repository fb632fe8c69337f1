"""Mouse, keyboard and clipboard against the real Tk app: its own state file proves each action."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from desktop_app import AppState

from devices.desktop import DesktopConfig, VirtualDesktop
from devices.errors import AmbiguousText, BadTarget, FailSafe, OffScreen, TextNotFound, UnknownKey
from devices.facade import Devices
from devices.xinput import input_for

APP = Path(__file__).with_name("tk_app.py")
SLOW_WM = Path(__file__).with_name("slow_wm.py")


def test_click_a_button_by_its_text(devices: Devices, app: AppState) -> None:
    where = devices.mouse.click(text="Submit")
    state = app.wait(lambda s: s["clicks"].get("Submit@20") == 1)
    assert state["label"] == "Clicked Submit"
    left, top, width, height = state["boxes"]["Submit@20"]
    assert left <= where["x"] < left + width and top <= where["y"] < top + height


def test_text_on_screen_twice_lists_both_places_and_clicks_nothing(devices: Devices, app: AppState) -> None:
    with pytest.raises(AmbiguousText) as caught:
        devices.mouse.click(text="Open")
    message = str(caught.value)
    assert "2 times" in message and message.count("x=") == 2
    places = [(int(x), int(y)) for x, y in re.findall(r"x=(\d+), y=(\d+)", message)]
    boxes = app.read()["boxes"]
    for (x, y), name in zip(sorted(places), ("Open@300", "Open@420"), strict=True):
        # each place is on its own button, near its middle: OCR boxes are centred on the ink within
        # ~3 px (measured on the benchmark screen, whole-screen and cut detection alike)
        left, top, width, height = boxes[name]
        assert left <= x < left + width and top <= y < top + height, (x, y, name, boxes[name])
        assert abs(x - app.center(name)[0]) <= 3, (x, name)
    assert app.read()["clicks"] == {}


def test_missing_text_says_so_and_shows_what_is_there(devices: Devices, app: AppState) -> None:
    with pytest.raises(TextNotFound, match="no text 'Sbumit' on the screen; OCR read: .*'Submit'"):
        devices.mouse.click(text="Sbumit")


def test_type_into_the_field_and_read_the_label_back_with_ocr(devices: Devices, app: AppState) -> None:
    devices.mouse.click(*app.center("entry"))
    devices.keyboard.write("Hello Xvfb 42")
    devices.keyboard.press("enter")
    state = app.wait(lambda s: s["label"] == "Hello Xvfb 42")
    assert state["entry"] == "Hello Xvfb 42"
    seen = devices.display.find_text("Hello Xvfb 42")
    assert len(seen) == 2, "once in the field, once on the label"
    for box, name in zip(sorted(seen, key=lambda b: b.top), ("entry", "label"), strict=True):
        left, top, width, height = state["boxes"][name]
        assert left <= box.center[0] < left + width and top <= box.center[1] < top + height


def test_keys_typed_right_after_a_click_wait_for_a_slow_window_manager(
        devices: Devices, app: AppState, desktop: VirtualDesktop, tmp_path: Path) -> None:
    """Click a field and type at once, while a click-to-focus manager holds each press for 0.3 s.

    The server freezes the pointer until the manager replays the press; keys are not frozen, so keys
    sent at once reached the app before its click did and were lost (openbox on a loaded machine).
    click() now returns only once the click has been delivered.
    """
    log = tmp_path / "wm.log"
    manager = subprocess.Popen([sys.executable, str(SLOW_WM), "0.3", str(log)], env=dict(os.environ, **desktop.env()))
    try:
        deadline = time.monotonic() + 15
        while "ready" not in (log.read_text() if log.exists() else ""):
            assert manager.poll() is None and time.monotonic() < deadline, "the slow manager did not start"
            time.sleep(0.02)
        target = app.center("entry")
        assert devices.mouse.click(*target) == {"x": target[0], "y": target[1]}
        returned = time.time()
        devices.keyboard.write("typed at once")
        app.wait(lambda s: s["entry"] == "typed at once")
        pressed = [float(line.split()[1]) for line in log.read_text().splitlines() if line.startswith("pressed")]
        assert len(pressed) == 1 and returned >= pressed[0] + 0.3, "click() returned before the press was replayed"
        assert devices.mouse.position() == {"x": target[0], "y": target[1]}, "the pointer is back where it clicked"
    finally:
        manager.kill()
        manager.wait()


def test_unicode_is_typed_through_the_clipboard_in_order(devices: Devices, app: AppState) -> None:
    devices.mouse.click(*app.center("entry"))
    text = "naïve ✓ café 中文 ok"
    devices.keyboard.write(text)
    app.wait(lambda s: s["entry"] == text)


def test_hotkeys_and_single_keys(devices: Devices, app: AppState) -> None:
    devices.mouse.click(*app.center("entry"))
    devices.keyboard.hotkey("ctrl", "s")
    devices.keyboard.press("Escape", presses=2)
    app.wait(lambda s: s["saved"] == 1 and s["escapes"] == 2)
    with pytest.raises(UnknownKey, match="unknown key 'entr'; did you mean enter"):
        devices.keyboard.press("entr")


def test_drag_across_the_canvas(devices: Devices, app: AppState) -> None:
    left, top, _, _ = app.read()["boxes"]["canvas"]
    start, end = (left + 30, top + 30), (left + 250, top + 150)
    devices.mouse.drag(*start, *end)
    state = app.wait(lambda s: s["drag"] is not None and s["drag"]["to"] is not None)
    assert state["drag"] == {"from": list(start), "to": list(end)}


def test_scroll_the_list(devices: Devices, app: AppState) -> None:
    devices.mouse.scroll(-5, *app.center("listbox"))
    down = app.wait(lambda s: s["scroll_top"] > 0)
    devices.mouse.scroll(5)  # where the pointer already is
    app.wait(lambda s: s["scroll_top"] < down["scroll_top"])


def test_double_right_click_move_and_position(devices: Devices, app: AppState) -> None:
    devices.mouse.double_click(text="Double me")
    devices.mouse.right_click(*app.center("label"))
    app.wait(lambda s: s["double_clicks"] == 1 and s["right_clicks"] == 1)
    devices.mouse.move(700, 500)
    assert devices.mouse.position() == {"x": 700, "y": 500}


def test_bad_targets_are_refused_before_anything_moves(devices: Devices, app: AppState) -> None:
    devices.mouse.move(10, 10)
    with pytest.raises(OffScreen, match=r"point \(1500, 20\) is off the screen, which is 1280x800"):
        devices.mouse.click(1500, 20)
    with pytest.raises(BadTarget, match="exactly one of x, y or text= or icon= or mark=; got x, y, text="):
        devices.mouse.click(5, 5, text="Submit")
    with pytest.raises(BadTarget, match="got none of them"):
        devices.mouse.click()
    assert devices.mouse.position() == {"x": 10, "y": 10}


def test_clipboard_round_trip_and_paste(devices: Devices, app: AppState) -> None:
    text = 'Grüße, мир, 🙂 and "quotes"'
    devices.clipboard.copy(text)
    assert devices.clipboard.view() == text
    devices.mouse.click(*app.center("entry"))
    devices.clipboard.paste()
    app.wait(lambda s: s["entry"] == text)


def test_shifted_punctuation_and_capitals_come_out_as_typed(devices: Devices, app: AppState) -> None:
    devices.mouse.click(*app.center("entry"))
    text = 'A!@#$%^&*()_+{}|:"<>?~ Zz `-=[]\\;\',./'
    devices.keyboard.write(text)
    app.wait(lambda s: s["entry"] == text)


def test_one_process_drives_two_desktops_at_once(devices: Devices, app: AppState, tmp_path: Path) -> None:
    """Input goes through one X connection per display: a second desktop in this process is driven too,
    and typing on one never lands on the other."""
    with VirtualDesktop(DesktopConfig(width=1024, height=768, depth=24)) as second:
        other_state = AppState(tmp_path / "other.json")
        proc = subprocess.Popen([sys.executable, str(APP), str(other_state.path)], env=dict(os.environ, **second.env()))
        other = Devices(second.display, xauthority=second.env()["XAUTHORITY"])
        try:
            other_state.wait(lambda s: s["boxes"]["entry"][2] > 1, timeout=15)
            devices.mouse.click(*app.center("entry"))
            other.mouse.click(*other_state.center("entry"))
            devices.keyboard.write("first screen")
            other.keyboard.write("second screen")
            devices.keyboard.press("enter")
            app.wait(lambda s: s["label"] == "first screen" and s["entry"] == "first screen")
            other_state.wait(lambda s: s["entry"] == "second screen")
            devices.mouse.move(11, 12)
            other.mouse.move(21, 22)
            assert devices.mouse.position() == {"x": 11, "y": 12}
            assert other.mouse.position() == {"x": 21, "y": 22}
        finally:
            other.close()
            proc.terminate()
            proc.wait(timeout=5)


def test_a_key_the_keymap_lacks_is_an_error_not_a_silent_no_op(devices: Devices) -> None:
    with pytest.raises(UnknownKey, match="has no key for 'f24'"):
        devices.keyboard.press("f24")
    with pytest.raises(UnknownKey, match="unknown key 'volumeupp'"):
        devices.keyboard.press("volumeupp")


def test_the_fail_safe_stops_input_while_the_pointer_is_in_a_corner(devices: Devices) -> None:
    xinput = input_for(devices.display.display)
    devices.mouse.move(0, 0)
    xinput.failsafe = True
    try:
        with pytest.raises(FailSafe, match="corner of the screen"):
            devices.mouse.move(100, 100)
        with pytest.raises(FailSafe):
            devices.keyboard.press("a")
        assert devices.mouse.position() == {"x": 0, "y": 0}
        xinput.failsafe = False
        devices.mouse.move(1279, 400)
        xinput.failsafe = True
        devices.mouse.move(300, 300)  # an edge is not a corner
    finally:
        xinput.failsafe = False
    assert devices.mouse.position() == {"x": 300, "y": 300}


def test_a_glide_under_the_fail_safe_asks_where_the_pointer_is_once(devices: Devices,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The fail-safe's look at the pointer is where the glide starts: one X round trip, not two."""
    xinput = input_for(devices.display.display)
    xinput.move(200, 200)
    asked: list[tuple[int, int]] = []
    real = xinput.position

    def position() -> tuple[int, int]:
        asked.append(real())
        return asked[-1]

    monkeypatch.setattr(xinput, "position", position)
    xinput.failsafe = True
    try:
        xinput.move(260, 230, glide=0.05)
    finally:
        xinput.failsafe = False
    assert asked == [(200, 200)]
    xinput.move(300, 250, glide=0.05)  # without the fail-safe the glide asks for itself
    assert asked == [(200, 200), (260, 230)]
    monkeypatch.undo()
    assert devices.mouse.position() == {"x": 300, "y": 250}


def test_a_display_number_used_again_gets_a_fresh_input_connection() -> None:
    """A sandbox's desktop stops and the next one gets the same number: input reaches the new X server."""
    first = 600 + os.getpid() % 300
    with VirtualDesktop(DesktopConfig(width=640, height=480, first_display=first)) as old:
        number = old.display
        Devices(old.display, xauthority=old.env()["XAUTHORITY"]).mouse.move(10, 10)
    with VirtualDesktop(DesktopConfig(width=640, height=480, first_display=int(number[1:]))) as new:
        assert new.display == number
        devices = Devices(new.display, xauthority=new.env()["XAUTHORITY"])
        devices.mouse.move(30, 40)
        assert devices.mouse.position() == {"x": 30, "y": 40}
        devices.keyboard.press("a")
        devices.close()
