"""Coordinate scaling: every adapter maps a model's points to the screen and back within 2 px."""

from __future__ import annotations

import itertools

import pytest

from devices.display import DisplayConfig
from devices.errors import DeviceUsageError, OffScreen
from devices.facade import Devices, DevicesConfig
from devices.imaging import ImageOptions
from devices.scaling import COORDINATES, KINDS, Scaling

SCREENS = [(1280, 800), (1920, 1080), (1024, 768), (2560, 1440), (800, 600), (3840, 2160)]
SPECS = [*KINDS, "1366x768", "1000x700"]


@pytest.mark.parametrize("kind", SPECS)
@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_screen_points_round_trip_within_2_px(kind: str, screen: tuple[int, int]) -> None:
    scaling = Scaling(kind)
    width, height = screen
    for x, y in itertools.product(range(0, width, max(1, width // 37)), range(0, height, max(1, height // 23))):
        back = scaling.to_screen(*scaling.to_model(x, y, screen), screen)
        assert abs(back[0] - x) <= 2 and abs(back[1] - y) <= 2, (kind, screen, (x, y), back)


@pytest.mark.parametrize("kind", SPECS)
@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_model_point_lands_on_the_screen_where_its_image_shows_it(kind: str, screen: tuple[int, int]) -> None:
    scaling = Scaling(kind)
    mw, mh = scaling.space(screen)
    for mx, my in [(0, 0), (mw - 1, mh - 1), (mw // 2, mh // 3), (mw - 1, 0)]:
        sx, sy = scaling.point_to_screen(mx, my, screen)
        assert 0 <= sx < screen[0] and 0 <= sy < screen[1]
        # the same fraction of the way across, to within a pixel of the screen
        assert abs(sx - mx * screen[0] / mw) <= 1 and abs(sy - my * screen[1] / mh) <= 1


def test_the_image_sizes_follow_each_convention() -> None:
    assert Scaling("auto").image_size((1920, 1080)) == (1280, 720)
    assert Scaling("auto").image_size((1024, 768)) == (1024, 768)
    assert Scaling("native").image_size((3840, 2160)) == (3840, 2160)
    assert Scaling("xga").image_size((1920, 1080)) == (1024, 768)
    assert Scaling("wxga").image_size((1920, 1080)) == (1280, 800)
    assert Scaling("1366x768").image_size((1280, 800)) == (1366, 768)
    assert Scaling("normalized").space((1920, 1080)) == (1000, 1000)
    assert Scaling("normalized").image_size((1920, 1080)) == (1280, 720)
    assert not Scaling("auto").maps((1280, 800)) and Scaling("auto").maps((1920, 1080))
    assert Scaling("normalized").maps((1280, 800))


def test_arguments_and_results_are_mapped_and_nothing_else() -> None:
    scaling, screen = Scaling("xga"), (2048, 1536)  # exactly twice XGA
    args = scaling.arguments({"x": 10, "y": 20, "to_x": 30, "to_y": 40, "text": "Submit", "dx": 3, "dy": -2,
                              "path": [[1, 2], [3, 4]], "region": {"left": 5, "top": 6, "width": 7, "height": 8}},
                             screen)
    assert args == {"x": 20, "y": 40, "to_x": 60, "to_y": 80, "text": "Submit", "dx": 3, "dy": -2,
                    "path": [[2, 4], [6, 8]], "region": {"left": 10, "top": 12, "width": 14, "height": 16}}
    assert scaling.arguments({"x": "Submit", "y": None}, screen) == {"x": "Submit", "y": None}  # text as x
    assert scaling.arguments({"region": [2, 2, 10, 10]}, screen) == {"region": [4, 4, 20, 20]}
    box = {"text": "OK", "left": 100, "top": 50, "width": 40, "height": 20, "x": 120, "y": 60, "confidence": 0.9}
    assert scaling.result([box, {"x": 2, "y": 2}, [7, 9]], screen) == [
        {"text": "OK", "left": 50, "top": 25, "width": 20, "height": 10, "x": 60, "y": 30, "confidence": 0.9},
        {"x": 1, "y": 1}, [7, 9]]


def test_auto_follows_the_width_the_display_view_is_configured_to() -> None:
    """The view's max_width is the one setting: a screen the view downscales is one whose points are mapped."""
    narrow = DevicesConfig(display=DisplayConfig(view=ImageOptions("png", max_width=800)))
    scaling = Devices(":0", narrow).scaling  # no X connection until a device is used
    assert scaling.image_size((1280, 800)) == (800, 500) and scaling.maps((1280, 800))
    assert scaling.to_screen(400, 250, (1280, 800)) == (640, 400)
    full = Devices(":0", DevicesConfig(display=DisplayConfig(view=ImageOptions("png")))).scaling
    assert full.image_size((3840, 2160)) == (3840, 2160) and not full.maps((3840, 2160))
    assert Devices(":0").scaling == Scaling("auto")  # the default view, 1280 wide
    assert Scaling("normalized").viewed_at(800).image_size((1600, 1000)) == (800, 500)


@pytest.mark.parametrize("kind", ["xga", "normalized", "1000x700"])
def test_every_row_of_the_coordinate_table_maps_both_ways(kind: str) -> None:
    """Each name COORDINATES lists goes into screen pixels as an argument and back out as a result."""
    scaling, screen = Scaling(kind), (1920, 1080)
    samples = {"point": [100, 200], "lengths": [300, 150], "path": [[10, 20], [400, 300]],
               "region": [50, 60, 200, 100]}
    for names, row in COORDINATES:
        values = dict(zip(names, samples[row], strict=True)) if len(names) == 2 else {names[0]: samples[row]}
        pixels = scaling.arguments(values, screen)
        assert pixels != values, (names, pixels)
        back = scaling.result(pixels, screen)
        assert _numbers_in(back) == pytest.approx(_numbers_in(values), abs=2), (names, back)


def _numbers_in(value: object) -> list[float]:
    if isinstance(value, dict):
        return [n for key in sorted(value) for n in _numbers_in(value[key])]
    if isinstance(value, list):
        return [n for item in value for n in _numbers_in(item)]
    return [float(value)] if isinstance(value, (int, float)) else []


def test_bad_specs_and_off_image_points_say_what_to_do() -> None:
    with pytest.raises(DeviceUsageError, match="unknown coordinate scaling 'vga'; use one of auto, native"):
        Scaling("vga")
    with pytest.raises(OffScreen, match=r"point \(1024, 5\) is off the screen, which is 1024x768 in your coordinates"):
        Scaling("xga").arguments({"x": 1024, "y": 5}, (1280, 800))
    with pytest.raises(OffScreen, match="which is 1000x1000"):
        Scaling("normalized").arguments({"x": 5, "y": -1}, (1280, 800))
