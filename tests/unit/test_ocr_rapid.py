"""The OCR engine's tuned settings keep every word: 48 button-sized words and a field, rendered without X."""

from __future__ import annotations

import pytest

from devices.ocr.rapid import RapidOCRConfig, RapidOCREngine

np = pytest.importorskip("numpy")
pytest.importorskip("rapidocr")
Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")
ImageFont = pytest.importorskip("PIL.ImageFont")

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = (
    "Submit Cancel Open Save File Edit View Help Window Tools Options Search Replace Format "
    "Insert Delete Copy Paste Print Export Import Settings Profile Logout Login Account Network "
    "Display Sound Power Battery Keyboard Mouse Printer Camera Music Video Photos Documents "
    "Downloads Desktop Trash Archive Calendar Contacts Messages Weather Clock Quokka"
).split()


def screen(size: int) -> np.ndarray:
    """A 1280x800 grey screen with the words in a grid, like the benchmark's Tk app."""
    image = Image.new("RGB", (1280, 800), (217, 217, 217))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, size)
    for i, word in enumerate(WORDS):
        draw.text((20 + (i % 8) * 155, 20 + (i // 8) * 80), word, font=font, fill=(0, 0, 0))
    return np.asarray(image)


# 10 px loses "Format" in detection with or without the tuned settings (960 px detection), so 11 is the floor
@pytest.mark.parametrize("size", [11, 16])
def test_default_settings_read_every_word(size: int) -> None:
    engine = RapidOCREngine()
    read = {word for box in engine.read(screen(size)) for word in box.text.split()}
    assert sorted(set(WORDS) - read) == []
    # the line memory answers a second read of the same pixels with the same text
    assert {word for box in engine.read(screen(size)) for word in box.text.split()} == read


def test_bad_recognition_width_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="rec_min_width is a width in pixels from 1 to 2048, got 0"):
        RapidOCRConfig(rec_min_width=0)
