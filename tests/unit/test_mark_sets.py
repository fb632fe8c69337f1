"""Set-of-marks without a screen: numbering, de-duplication and the checks of click(mark=N)."""

from __future__ import annotations

import pytest

from devices.errors import DeviceUsageError
from devices.frame import Region
from devices.marks import MarkSet, build
from devices.ocr.base import TextBox


def test_marks_of_a_resized_screen_are_refused() -> None:
    marked = MarkSet(build([TextBox("Submit", 20, 20, 80, 30, 0.9)], [Region(300, 300, 20, 20)]), (1280, 800))
    assert [(m.number, m.text, m.source) for m in marked.marks] == [(1, "Submit", "ocr"), (2, None, "icon")]
    assert marked.center(2, (1280, 800)) == (310, 310)
    resized = r"changed size .* \(1280x800 -> 1024x768\); call computer\.display\.marks\(\) again"
    with pytest.raises(DeviceUsageError, match=resized):
        marked.center(1, (1024, 768))


def test_an_icon_candidate_inside_a_text_line_is_dropped() -> None:
    line = TextBox("Save As", 100, 10, 80, 20, 0.9)
    strokes, apart = Region(102, 12, 30, 16), Region(100, 40, 16, 16)
    marks = build([line], [strokes, apart])
    assert [(m.text, m.box) for m in marks] == [("Save As", Region(100, 10, 80, 20)), (None, apart)]


def test_reading_order_keeps_rows_beside_a_tall_panel() -> None:
    panel = Region(0, 100, 300, 300)
    cells = [TextBox(name, left, top, 60, 20, 0.9) for name, left, top in
             (("B2", 500, 160), ("A1", 400, 130), ("A2", 400, 160), ("B1", 500, 130))]
    marks = build(cells, [panel])
    # row by row (A1 B1, then A2 B2), not column by column inside the panel's height
    assert [m.text for m in marks] == [None, "A1", "B1", "A2", "B2"]
    assert [m.number for m in marks] == [1, 2, 3, 4, 5]
