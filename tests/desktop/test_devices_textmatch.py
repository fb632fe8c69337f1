"""Matching text among OCR lines: whole lines first, then words inside lines with estimated boxes."""

from __future__ import annotations

from devices.ocr.base import TextBox
from devices.textmatch import find, words

LINES = [
    TextBox("Save", 10, 10, 40, 20, 0.99),
    TextBox("Save As", 100, 10, 70, 20, 0.98),
    TextBox("Open  File", 200, 50, 100, 20, 0.97),
]


def test_a_whole_line_beats_a_line_that_contains_it() -> None:
    assert find(LINES, "save") == [LINES[0]]


def test_text_inside_a_line_gets_its_share_of_the_box() -> None:
    (file_,) = find(LINES, "file")
    assert file_.text == "File"
    assert (file_.left, file_.width, file_.top, file_.height) == (260, 40, 50, 20)
    (both,) = find(LINES, "open file")
    assert both.text == "Open  File" and both.width == 100


def test_words_split_lines_and_nothing_matches_empty_text() -> None:
    assert [w.text for w in words(LINES)] == ["Save", "Save", "As", "Open", "File"]
    assert find(LINES, "   ") == []
    assert find(LINES, "missing") == []
