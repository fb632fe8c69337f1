"""Where a mouse action lands: x, y; or text= found by OCR; or icon= chosen by a vision model; or mark= of the
last display.marks()."""

from __future__ import annotations

from devices.display import Display
from devices.errors import AmbiguousText, BadTarget, TextNotFound
from devices.icons import CandidateConfig, IconLocator, locate_icon
from devices.marks import no_marks
from devices.ocr.base import TextBox

_SHOWN = 20  # how many on-screen texts a TextNotFound lists, so the model can correct itself


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadTarget(f"{name} must be a number of pixels, got {value!r}")
    return value


def _describe(box: TextBox) -> str:
    x, y = box.center
    return f"{box.text!r} at x={x}, y={y}"


class Pointer:
    """Resolves the target of a mouse action to a point on the screen."""

    def __init__(
        self, display: Display, locator: IconLocator | None = None, candidates: CandidateConfig | None = None
    ) -> None:
        self.display = display
        self.locator = locator
        self.candidates = candidates or CandidateConfig()

    def resolve(
        self, x: object = None, y: object = None, text: str | None = None, icon: str | None = None,
        mark: object = None,
    ) -> tuple[int, int]:
        """The point to act on; exactly one of (x, y), text=, icon= or mark= must be given.

        A lone string in place of x is text, as in Open Interpreter: click("Submit").
        """
        if isinstance(x, str) and y is None and text is None:
            x, text = None, x
        chosen = {
            "x, y": x is not None or y is not None,
            "text=": text is not None,
            "icon=": icon is not None,
            "mark=": mark is not None,
        }
        given = [name for name, present in chosen.items() if present]
        if len(given) != 1:
            got = ", ".join(given) or "none of them"
            raise BadTarget(f"give exactly one of x, y or text= or icon= or mark=; got {got}")
        if text is not None:
            return self.by_text(text)
        if icon is not None:
            return self.by_icon(icon)
        if mark is not None:
            return self.by_mark(mark)
        if x is None or y is None:
            raise BadTarget(f"give both x and y, got x={x!r}, y={y!r}")
        point = (round(_number("x", x)), round(_number("y", y)))
        self.display.check_point(*point)
        return point

    def by_text(self, text: str) -> tuple[int, int]:
        """The center of the one place OCR finds `text`; errors list none or several."""
        matches = self.display.find_text(text)
        if not matches:
            seen = [box.text for box in self.display.lines()[:_SHOWN]]
            listed = ", ".join(repr(t) for t in seen) or "no text at all"
            raise TextNotFound(f"no text {text!r} on the screen; OCR read: {listed}")
        if len(matches) > 1:
            listed = "; ".join(f"{n}. {_describe(box)}" for n, box in enumerate(matches, start=1))
            raise AmbiguousText(
                f"{text!r} appears {len(matches)} times on the screen: {listed}. Choose one and act on its x, y"
            )
        return matches[0].center

    def by_mark(self, number: object) -> tuple[int, int]:
        """The center of mark `number` of the last display.marks()."""
        if self.display.marked is None:
            raise no_marks()
        return self.display.marked.center(number, self.display.size())

    def by_icon(self, description: str) -> tuple[int, int]:
        """The center of the candidate box the icon locator picks."""
        frame = self.display.grab()
        return locate_icon(frame, description, self.locator, self.candidates).center
