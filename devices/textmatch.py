"""Finding a piece of text among OCR lines, down to the words inside a line."""

from __future__ import annotations

import re

from devices.ocr.base import TextBox

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Case-folded text with runs of whitespace made single spaces."""
    return _SPACES.sub(" ", text).strip().casefold()


def sub_box(line: TextBox, start: int, length: int) -> TextBox:
    """The part of a line box that holds characters [start, start + length).

    OCR boxes whole lines; the part's place is estimated from its share of the
    characters, close enough for a click in its middle on proportional fonts.
    """
    count = max(len(line.text), 1)
    left = line.left + round(line.width * start / count)
    width = max(1, round(line.width * length / count))
    return TextBox(line.text[start : start + length], left, line.top, width, line.height, line.confidence)


def words(lines: list[TextBox]) -> list[TextBox]:
    """Every whitespace-separated word of the lines, each with its estimated box."""
    found = []
    for line in lines:
        for match in re.finditer(r"\S+", line.text):
            found.append(sub_box(line, match.start(), len(match.group())))
    return found


def find(lines: list[TextBox], query: str) -> list[TextBox]:
    """Boxes where `query` appears: whole-line matches first, else matches inside lines.

    Case and spacing are ignored. A line equal to the query beats a line that
    merely contains it, so "Save" finds the button, not "Save As" beside it.
    """
    wanted = normalize(query)
    if not wanted:
        return []
    exact = [line for line in lines if normalize(line.text) == wanted]
    if exact:
        return exact
    found = []
    for line in lines:
        # normalize keeps the length unless whitespace runs collapse; search the folded text directly
        folded = line.text.casefold()
        for match in re.finditer(re.escape(wanted).replace(r"\ ", r"\s+"), folded):
            found.append(sub_box(line, match.start(), match.end() - match.start()))
    return found
