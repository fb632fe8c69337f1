"""Mouse, keyboard and clipboard against the real Tk app: its own state file proves each action."""

from __future__ import annotations

import pytest
from desktop_app import AppState

from devices.errors import AmbiguousText, BadTarget, OffScreen, TextNotFound, UnknownKey
from devices.facade import Devices


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
    for name in ("Open@300", "Open@420"):
        x, _ = app.center(name)
        assert f"x={x}" in message or f"x={x - 1}" in message or f"x={x + 1}" in message
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
    with pytest.raises(BadTarget, match="exactly one of x, y or text= or icon=; got x, y, text="):
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
