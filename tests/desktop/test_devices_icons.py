"""icon=: candidate boxes cut from a real screenshot, a scripted locator in place of a vision model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from desktop_app import AppState

from devices.errors import IconNotFound, IconSearchUnavailable
from devices.facade import Devices
from devices.frame import Region


class NearestBox:
    """A scripted stand-in for a vision model: picks the box around a known point, records its input."""

    def __init__(self, point: tuple[int, int]) -> None:
        self.point = point
        self.seen: list[tuple[bytes, str, list[Region]]] = []

    def __call__(self, image_png: bytes, description: str, boxes: list[Region]) -> int | None:
        self.seen.append((image_png, description, boxes))
        around = [n for n, box in enumerate(boxes, start=1) if box.contains(*self.point)]
        return min(around, key=lambda n: boxes[n - 1].width * boxes[n - 1].height) if around else None


@pytest.fixture()
def locator(devices: Devices, app: AppState) -> Iterator[NearestBox]:
    chosen = NearestBox(app.center("icon"))
    devices.set_icon_locator(chosen)
    yield chosen
    devices.set_icon_locator(None)


def test_click_an_icon_chosen_among_numbered_boxes(devices: Devices, app: AppState, locator: NearestBox) -> None:
    where = devices.mouse.click(icon="the red circle")
    app.wait(lambda s: s["icon_clicks"] == 1)
    ((image, description, boxes),) = locator.seen
    assert image.startswith(b"\x89PNG") and description == "the red circle"
    assert len(boxes) > 5, "buttons, the field, the list and the icon are all candidates"
    left, top, width, height = app.read()["boxes"]["icon"]
    assert left <= where["x"] < left + width and top <= where["y"] < top + height


def test_locator_answers_that_match_nothing_are_errors(devices: Devices, app: AppState) -> None:
    devices.set_icon_locator(lambda image, description, boxes: None)
    with pytest.raises(IconNotFound, match="found no icon matching 'a purple cow'"):
        devices.mouse.click(icon="a purple cow")
    devices.set_icon_locator(lambda image, description, boxes: 10_000)
    with pytest.raises(IconNotFound, match="expected a box number 1-"):
        devices.mouse.move(icon="anything")
    devices.set_icon_locator(None)
    assert app.read()["icon_clicks"] == 0


def test_icon_search_without_a_vision_model_says_what_to_do(devices: Devices) -> None:
    devices.set_icon_locator(None)
    with pytest.raises(IconSearchUnavailable, match=r"needs a vision model.*--model"):
        devices.mouse.click(icon="gear")
