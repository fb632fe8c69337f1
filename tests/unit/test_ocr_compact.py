"""Detection on the screen without its blank bands: no glyph is cut, and boxes land where they would have."""

from __future__ import annotations

import pytest

from devices.ocr.compact import compact
from devices.ocr.rapid import RapidOCRConfig, RapidOCREngine, _shares

np = pytest.importorskip("numpy")
pytest.importorskip("cv2")
Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")
ImageFont = pytest.importorskip("PIL.ImageFont")

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
GREY = (217, 217, 217)


def draw(texts: list[tuple[int, int, str]], size: int = 14, background: object = GREY) -> np.ndarray:
    """A 1280x800 screen with `texts` (x, y, text) drawn in black."""
    image = Image.new("RGB", (1280, 800), background)  # type: ignore[arg-type]
    pen = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, size)
    for x, y, text in texts:
        pen.text((x, y), text, font=font, fill=(0, 0, 0))
    return np.asarray(image)


def test_blank_bands_go_and_every_dark_pixel_stays() -> None:
    screen = draw([(30, 40, "Top left"), (900, 40, "Top right"), (30, 700, "Bottom"), (600, 400, "Middle")])
    small = compact(screen, margin=8)
    assert small is not None
    assert small.kept < 0.2  # three rows of words on a grey screen: most rows are blank
    # every pixel that is not background survives, in its column, on a row restore() maps back to its own
    dark = np.argwhere((screen != GREY).any(axis=2))
    assert set(dark[:, 0].tolist()) <= set(small.rows.tolist())
    assert (small.image[np.searchsorted(small.rows, dark[:, 0]), dark[:, 1]] == screen[dark[:, 0], dark[:, 1]]).all()
    # a blank band keeps `margin` pixels at each end
    assert np.diff(small.rows).max() > 300 and (np.diff(small.rows) > 1).sum() >= 2


def test_restore_maps_points_back_and_holds_boxes_in_their_band() -> None:
    screen = draw([(30, 40, "Top"), (30, 700, "Bottom")])
    small = compact(screen, margin=8)
    assert small is not None
    y_top = int(np.searchsorted(small.rows, 45))
    y_bottom = int(np.searchsorted(small.rows, 705))
    x = 40
    quads = np.array([[[x, y_top], [x + 5, y_top], [x + 5, y_top + 4], [x, y_top + 4]],
                      [[x, y_bottom], [x + 5, y_bottom], [x + 5, y_bottom + 4], [x, y_bottom + 4]]], np.float32)
    back = small.restore(quads)
    assert back[0, 0].tolist() == [40, 45] and back[1, 0].tolist() == [40, 705]
    # a box reaching past its band (detection draws boxes a little larger than the text) is held in it,
    # never stretched across the blank band to the text below
    jumps = np.flatnonzero(np.diff(small.rows) > 1) + 1
    band_end = int(jumps[jumps > y_top][0])  # first image row of the band after the top text's
    tall = quads[:1].copy()
    tall[0, 2:, 1] = band_end + 6  # its centre still in the top band
    assert small.restore(tall)[0, :, 1].max() == small.rows[band_end - 1] + 1 < 100


def test_a_full_screen_is_left_alone() -> None:
    noise = np.random.default_rng(0).integers(0, 255, (800, 1280, 3), dtype=np.uint8)
    assert compact(noise) is None


@pytest.mark.parametrize("background", [GREY, (255, 255, 255)])
def test_compacted_detection_reads_the_same_lines_at_the_same_places(background: tuple[int, int, int]) -> None:
    pytest.importorskip("rapidocr")
    words = "Submit Cancel Open Save Weather Clock Quokka Settings".split()
    screen = draw([(20 + (i % 4) * 300, 20 + (i // 4) * 380, word) for i, word in enumerate(words)]
                  + [(20, 600, "A longer line of text with several words in it")], background=background)
    whole = {box.text: box for box in RapidOCREngine(RapidOCRConfig(blank_margin=0)).read(screen)}
    cut = {box.text: box for box in RapidOCREngine(RapidOCRConfig(rec_workers=2)).read(screen)}
    assert sorted(cut) == sorted(whole) == sorted([*words, "A longer line of text with several words in it"])
    for text, box in cut.items():
        # same text, boxes centred within a few pixels of detection on the whole screen
        assert abs(box.center[0] - whole[text].center[0]) <= 4 and abs(box.center[1] - whole[text].center[1]) <= 4


def test_recognition_shares_are_whole_batches_of_similar_width() -> None:
    crops = [(bytes([i]), np.zeros((20, 20 * (i + 1), 3), np.uint8)) for i in range(20)]
    shares = _shares(crops, batch=4, workers=2)
    assert len(shares) == 2 and sorted(key for share in shares for key, _ in share) == [c[0] for c in crops]
    # batches of 4 neighbours in width, dealt in turn: share 0 has ranks 0-3, 8-11, 16-19
    assert [key[0] for key, _ in shares[0]] == [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19]
    assert _shares(crops[:3], batch=4, workers=2) == [crops[:3]]  # one batch: no split
    assert _shares([], batch=4, workers=2) == []


def test_bad_settings_are_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="rec_workers"):
        RapidOCRConfig(rec_workers=-1)
    with pytest.raises(ValueError, match="blank_margin"):
        RapidOCRConfig(blank_margin=-2)
