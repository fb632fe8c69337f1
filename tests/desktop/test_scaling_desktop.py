"""Coordinate scaling on a real screen: the model's image, its clicks and the boxes it reads agree."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from desktop_app import AppState
from PIL import Image

from devices.desktop import VirtualDesktop
from devices.errors import OffScreen
from devices.facade import Devices, DevicesConfig
from devices.scaling import Scaling


@pytest.fixture(params=["xga", "normalized", "1600x1000"])
def scaled(request: pytest.FixtureRequest, desktop: VirtualDesktop, devices: Devices) -> Iterator[Devices]:
    """Devices on the session desktop (1280x800) speaking a model's coordinates; OCR shared with `devices`."""
    bundle = Devices(desktop.display, DevicesConfig(scaling=Scaling(request.param)),
                     xauthority=desktop.env()["XAUTHORITY"], ocr=devices.display.ocr.engine)
    yield bundle
    bundle.close()


def test_a_model_clicks_what_it_reads_in_its_own_coordinates(scaled: Devices, app: AppState) -> None:
    scaling = scaled.config.scaling
    space = tuple(scaled.call("display.size"))
    assert space == scaling.space((1280, 800))
    image = scaled.call("display.view")
    assert Image.open(io.BytesIO(image.content)).size == scaling.image_size((1280, 800))  # type: ignore[union-attr]
    (box,) = scaled.call("display.find_text", ["Submit"])  # type: ignore[misc]
    where = scaled.call("mouse.click", [box["x"], box["y"]])
    assert where == {"x": box["x"], "y": box["y"]}
    state = app.wait(lambda s: s["clicks"].get("Submit@20") == 1)
    left, top, width, height = state["boxes"]["Submit@20"]
    sx, sy = scaling.to_screen(box["x"], box["y"], (1280, 800))
    assert left <= sx < left + width and top <= sy < top + height  # it landed on the button on the real screen
    moved = scaled.call("mouse.position")
    assert abs(moved["x"] - box["x"]) <= 2 and abs(moved["y"] - box["y"]) <= 2  # type: ignore[index]
    with pytest.raises(OffScreen, match=f"which is {space[0]}x{space[1]} in your coordinates"):
        scaled.call("mouse.move", [space[0], 1])
