"""Set-of-marks: numbered boxes over what can be clicked on the screen, and click(mark=N) on one of them.

The marks are the OCR lines and the icon candidate boxes (devices.icons) of one screenshot; an icon
candidate mostly covered by a line of text is that text's own strokes and is dropped. They are numbered
1..n in reading order (rows top to bottom, each row left to right) and drawn with the same numbering
as icon search (`icons.numbered`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from devices.errors import DeviceUsageError
from devices.frame import Region
from devices.ocr.base import TextBox

#: an icon candidate whose area is at least this much inside a text line's box is that text
COVERED = 0.5


@dataclass(frozen=True)
class Mark:
    """One numbered box: a line of text (OCR) or a shape (an icon candidate)."""

    number: int  #: 1-based, as drawn
    box: Region  #: in screen pixels
    text: str | None  #: the text OCR read, None for an icon candidate
    source: str  #: "ocr" or "icon"

    def to_dict(self) -> dict[str, Any]:
        """A msgpack-ready dict with the center a click(mark=N) uses."""
        x, y = self.box.center
        return {"mark": self.number, "left": self.box.left, "top": self.box.top, "width": self.box.width,
                "height": self.box.height, "x": x, "y": y, "text": self.text, "source": self.source}


@dataclass(frozen=True)
class MarkSet:
    """The marks of the last display.marks(), and the screen size they were taken on."""

    marks: tuple[Mark, ...]
    screen: tuple[int, int]  #: (width, height) of the screen when they were taken

    def center(self, number: object, screen: tuple[int, int]) -> tuple[int, int]:
        """Where click(mark=number) lands; DeviceUsageError for an unknown number or a resized screen."""
        if isinstance(number, bool) or not isinstance(number, int):
            raise DeviceUsageError(f"mark= is a mark number from computer.display.marks(), got {number!r}")
        if screen != self.screen:
            raise DeviceUsageError(
                f"the screen changed size since computer.display.marks() ({self.screen[0]}x{self.screen[1]} -> "
                f"{screen[0]}x{screen[1]}); call computer.display.marks() again and use its numbers")
        if not 1 <= number <= len(self.marks):
            valid = f"1 to {len(self.marks)}" if self.marks else "none: the last marks() found nothing to mark"
            raise DeviceUsageError(f"there is no mark {number}; the marks of the last computer.display.marks() "
                                   f"are {valid}")
        return self.marks[number - 1].box.center


def no_marks() -> DeviceUsageError:
    """The error of click(mark=N) before any display.marks()."""
    return DeviceUsageError("no marks yet: call computer.display.marks() first, then click(mark=N) with one "
                            "of its numbers")


def _covered(box: Region, by: Region) -> float:
    """The share of box's area inside `by`."""
    width = min(box.left + box.width, by.left + by.width) - max(box.left, by.left)
    height = min(box.top + box.height, by.top + by.height) - max(box.top, by.top)
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(1, box.width * box.height)


def _same_row(first: Region, box: Region) -> bool:
    """Whether each box's middle lies within the other's height (a tall panel does not swallow the rows beside it)."""
    return (first.top <= box.center[1] < first.top + first.height
            and box.top <= first.center[1] < box.top + box.height)


def reading_order(marks: list[Mark]) -> list[Mark]:
    """The marks in rows, top to bottom, each row left to right."""
    rows: list[list[Mark]] = []
    for mark in sorted(marks, key=lambda m: (m.box.top, m.box.left)):
        if rows and _same_row(rows[-1][0].box, mark.box):
            rows[-1].append(mark)
        else:
            rows.append([mark])
    return [mark for row in rows for mark in sorted(row, key=lambda m: m.box.left)]


def build(lines: list[TextBox], candidates: list[Region]) -> tuple[Mark, ...]:
    """The marks of one screenshot, numbered: every OCR line, and every icon candidate not mostly covered by one."""
    texts = [Mark(0, Region(line.left, line.top, line.width, line.height), line.text, "ocr") for line in lines]
    shapes = [Mark(0, box, None, "icon") for box in candidates
              if not any(_covered(box, text.box) >= COVERED for text in texts)]
    return tuple(replace(mark, number=n) for n, mark in enumerate(reading_order(texts + shapes), start=1))
