"""Set-of-marks on a real screen: numbered boxes from OCR and shapes, and click(mark=N) on the Tk app."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from desktop_app import AppState
from PIL import Image

from devices.desktop import VirtualDesktop
from devices.errors import BadTarget, DeviceUsageError
from devices.facade import Devices, DevicesConfig
from devices.scaling import Scaling
from executors.local import LocalExecutor
from orchestrator.computer import Computer


@pytest.fixture()
def fresh(desktop: VirtualDesktop, devices: Devices) -> Iterator[Devices]:
    """Devices that have never taken marks (OCR shared with `devices`)."""
    bundle = Devices(desktop.display, xauthority=desktop.env()["XAUTHORITY"], ocr=devices.display.ocr.engine)
    yield bundle
    bundle.close()


@pytest.fixture()
def xga(desktop: VirtualDesktop, devices: Devices) -> Iterator[Devices]:
    """Devices speaking XGA (1024x768) coordinates on the 1280x800 desktop."""
    bundle = Devices(desktop.display, DevicesConfig(scaling=Scaling("xga")),
                     xauthority=desktop.env()["XAUTHORITY"], ocr=devices.display.ocr.engine)
    yield bundle
    bundle.close()


def _marks(devices: Devices) -> tuple[Image.Image, list[dict[str, Any]]]:
    taken = devices.call("display.marks")
    assert isinstance(taken, dict) and set(taken) == {"image", "marks"}
    return Image.open(io.BytesIO(taken["image"].content)), taken["marks"]


def _inside(mark: dict[str, Any], box: list[int]) -> bool:
    left, top, width, height = box
    return left <= mark["x"] < left + width and top <= mark["y"] < top + height


def test_marks_number_the_buttons_and_click_mark_presses_one(devices: Devices, app: AppState) -> None:
    image, marks = _marks(devices)
    view = Image.open(io.BytesIO(devices.call("display.view").content))  # type: ignore[union-attr]
    assert image.size == view.size == (1280, 800) and image.format == "PNG"
    assert [m["mark"] for m in marks] == list(range(1, len(marks) + 1))
    assert {m["source"] for m in marks} == {"ocr", "icon"}
    boxes = app.read()["boxes"]
    (submit,) = [m for m in marks if m["text"] == "Submit"]
    assert submit["source"] == "ocr" and _inside(submit, boxes["Submit@20"])
    (cancel,) = [m for m in marks if m["text"] == "Cancel"]
    assert cancel["mark"] > submit["mark"]  # reading order: same row, further right
    where = devices.call("mouse.click", kwargs={"mark": submit["mark"]})
    assert where == {"x": submit["x"], "y": submit["y"]}
    assert app.wait(lambda s: s["clicks"].get("Submit@20") == 1)["clicks"] == {"Submit@20": 1}
    # a shape OCR cannot read (the empty text field) is a mark too, and clicking it focuses the field
    (field,) = [m for m in marks if m["source"] == "icon" and _inside(m, boxes["entry"])]
    assert field["text"] is None
    devices.call("mouse.click", kwargs={"mark": field["mark"]})
    devices.call("keyboard.write", ["marked"])
    devices.call("keyboard.press", ["enter"])
    assert app.wait(lambda s: s["label"] == "marked")["entry"] == "marked"


def test_drag_starts_on_a_mark(devices: Devices, app: AppState) -> None:
    _, marks = _marks(devices)
    canvas_box = app.read()["boxes"]["canvas"]
    (canvas,) = [m for m in marks if m["source"] == "icon" and _inside(m, canvas_box)]
    left, top, width, height = canvas_box
    end = (left + width - 20, top + height - 20)
    devices.call("mouse.drag", kwargs={"mark": canvas["mark"], "to_x": end[0], "to_y": end[1]})
    drag = app.wait(lambda s: s["drag"] is not None and s["drag"]["to"] is not None)["drag"]
    assert drag == {"from": [canvas["x"], canvas["y"]], "to": list(end)}


def test_bad_marks_say_what_to_do(fresh: Devices, app: AppState) -> None:
    with pytest.raises(DeviceUsageError, match=r"call computer\.display\.marks\(\) first"):
        fresh.call("mouse.click", kwargs={"mark": 1})
    _, marks = _marks(fresh)
    for wrong in (0, len(marks) + 1):
        with pytest.raises(DeviceUsageError, match=f"there is no mark {wrong}; .* are 1 to {len(marks)}"):
            fresh.call("mouse.click", kwargs={"mark": wrong})
    with pytest.raises(DeviceUsageError, match="mark= is a mark number .* got '1'"):
        fresh.call("mouse.click", kwargs={"mark": "1"})
    with pytest.raises(BadTarget, match="exactly one of .* mark=; got x, y, mark="):
        fresh.call("mouse.click", [10, 10], {"mark": 1})
    with pytest.raises(BadTarget, match="got text=, mark="):
        fresh.call("mouse.click", ["Submit"], {"mark": 1})
    with pytest.raises(DeviceUsageError, match="scale= is set by the coordinate scaling"):
        fresh.call("display.marks", kwargs={"scale": [1, 1]})
    assert app.read()["clicks"] == {}  # none of them clicked anything


def test_marks_speak_the_models_coordinates(xga: Devices, devices: Devices, app: AppState) -> None:
    image, marks = _marks(xga)
    assert image.size == (1024, 768)
    (submit,) = [m for m in marks if m["text"] == "Submit"]
    scaling, screen = xga.config.scaling, (1280, 800)
    left, top, width, height = app.read()["boxes"]["Submit@20"]
    assert _inside(submit, [*scaling.to_model(left, top, screen), *scaling.lengths_to_model(width, height, screen)])
    (native,) = [m for m in _marks(devices)[1] if m["text"] == "Submit"]
    assert (submit["left"], submit["top"]) == scaling.to_model(native["left"], native["top"], screen)
    assert (submit["width"], submit["height"]) == scaling.lengths_to_model(native["width"], native["height"], screen)
    where = xga.call("mouse.click", kwargs={"mark": submit["mark"]})
    assert abs(where["x"] - submit["x"]) <= 1 and abs(where["y"] - submit["y"]) <= 1  # type: ignore[index]
    app.wait(lambda s: s["clicks"].get("Submit@20") == 1)


def test_sandboxed_code_gets_the_marks_and_the_model_the_image(devices: Devices, app: AppState) -> None:
    code = ("marks = computer.display.marks()\n"
            "(submit,) = [m for m in marks if m['text'] == 'Submit']\n"
            "print(sorted(submit), computer.mouse.click(mark=submit['mark']) == {'x': submit['x'], 'y': submit['y']})")
    with Computer(LocalExecutor(), devices=devices) as computer:
        out = computer.run("python", code)
    images = [m for m in out if m.type == "image"]
    assert len(images) == 1 and Image.open(io.BytesIO(images[0].content)).size == (1280, 800)  # type: ignore[arg-type]
    printed = "".join(m.content for m in out if m.type == "console")  # type: ignore[misc]
    assert printed == "['height', 'left', 'mark', 'source', 'text', 'top', 'width', 'x', 'y'] True\n"
    app.wait(lambda s: s["clicks"].get("Submit@20") == 1)
