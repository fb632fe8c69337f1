"""The display: screenshots of a real Xvfb screen, their size and pixels, regions, and OCR of it."""

from __future__ import annotations

import io

import pytest
from desktop_app import AppState
from PIL import Image

from devices.errors import DeviceUsageError, OffScreen
from devices.facade import Devices
from lmc import codec
from lmc.messages import Message


def _image(message: Message) -> Image.Image:
    assert message.role == "computer" and message.type == "image"
    return Image.open(io.BytesIO(message.content)).convert("RGB")


def _rgb(image: Image.Image, point: tuple[int, int]) -> tuple[int, int, int]:
    red, green, blue = image.convert("RGB").getpixel(point)  # type: ignore[misc]
    return (red, green, blue)


def test_screenshot_is_a_full_size_png_showing_the_app(devices: Devices, app: AppState) -> None:
    message = devices.display.screenshot()
    assert message.format == "png" and message.content.startswith(b"\x89PNG")
    image = _image(message)
    assert image.size == devices.display.size() == (1280, 800)
    red, green, blue = _rgb(image, app.center("icon"))
    assert red > 200 and green < 60 and blue < 60, "the app's red icon should be in the screenshot"
    assert codec.decode_message(codec.encode(message)) == message


def test_jpeg_region_and_downscaled_view(devices: Devices, app: AppState) -> None:
    left, top, width, height = app.read()["boxes"]["icon"]
    region = devices.display.screenshot(format="jpeg", region=[left, top, width, height])
    assert region.format == "jpeg" and region.content.startswith(b"\xff\xd8")
    cropped = _image(region)
    assert cropped.size == (width, height)
    assert _rgb(cropped, (width // 2, height // 2))[0] > 180
    view = devices.display.view(max_width=640)
    assert _image(view).size == (640, 400)
    whole = devices.display.view(monitor=1)
    assert _image(whole).size == (1280, 800)


def test_regions_off_the_screen_name_the_screen_size(devices: Devices) -> None:
    with pytest.raises(OffScreen, match="1280x800"):
        devices.display.screenshot(region=[1200, 700, 200, 200])
    with pytest.raises(DeviceUsageError, match=r"\[left, top, width, height\]"):
        devices.display.screenshot(region="top half")  # type: ignore[arg-type]
    with pytest.raises(DeviceUsageError, match="monitor must be 0"):
        devices.display.view(monitor=7)
    with pytest.raises(DeviceUsageError, match="image format must be one of png, jpeg"):
        devices.display.view(format="gif")


def test_ocr_reads_known_words_with_boxes_and_confidence(devices: Devices, app: AppState) -> None:
    words = {box.text for box in devices.display.get_text()}
    assert {"Submit", "Cancel", "Open", "Ready", "Double", "me"} <= words
    (submit,) = devices.display.find_text("submit")
    left, top, width, height = app.read()["boxes"]["Submit@20"]
    x, y = submit.center
    assert left <= x < left + width and top <= y < top + height
    assert 0.5 < submit.confidence <= 1.0
    assert devices.display.find_text("Nonexistent words") == []


def test_ocr_results_are_cached_per_screenshot(devices: Devices, app: AppState) -> None:
    devices.display.find_text("Submit")
    hits, misses = devices.display.ocr.hits, devices.display.ocr.misses
    devices.display.find_text("Cancel")
    assert (devices.display.ocr.hits, devices.display.ocr.misses) == (hits + 1, misses)
