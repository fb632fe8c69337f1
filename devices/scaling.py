"""Coordinates as a model sees them: the screenshot scaled to the size the model expects, its points mapped back.

Model families are trained on different conventions, and a click lands off target when the
screenshot's pixels and the model's numbers disagree (a 1920x1080 screen shown at 1280x720 and
clicked at the model's 1280x720 coordinates misses by a third):

- ``auto`` (default): the screenshot as `display.view()` sizes it (at most DisplayConfig.view.max_width,
  1280, wide, aspect kept), and every coordinate in that image's pixels. Equal to the screen on a screen
  up to that wide.
- ``native``: full-size screenshots, screen pixels.
- ``xga`` (1024x768), ``wxga`` (1280x800), ``fwxga`` (1366x768) or any ``WIDTHxHEIGHT``: the declared
  display size of Anthropic's and OpenAI's computer-use tools; the screenshot is resized to exactly that
  size (stretched if the aspect differs) and coordinates are in it.
- ``normalized``: coordinates from 0 to 999 on each axis whatever the screen (Gemini, UI-TARS, many
  grounding models); the screenshot is sent as ``auto`` sizes it.

Every coordinate crossing `Devices.call` is mapped: x/y arguments, drag paths, regions, window
geometry, and the points and boxes in results (mouse positions, OCR boxes, window lists): the names
they go by are the one table COORDINATES, read by both directions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from devices.display import VIEW_MAX_WIDTH
from devices.errors import DeviceUsageError, OffScreen
from devices.imaging import fit_width

#: the named declared sizes
SIZES = {"xga": (1024, 768), "wxga": (1280, 800), "fwxga": (1366, 768)}
#: the kinds a Scaling can be (besides WIDTHxHEIGHT)
KINDS = ("auto", "native", "normalized", *SIZES)
NORMALIZED = 1000  # normalized coordinates run from 0 to NORMALIZED - 1
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")

Size = tuple[int, int]


@dataclass(frozen=True)
class Scaling:
    """How the coordinates a model reads and writes map to the screen's pixels."""

    kind: str = "auto"  #: auto, native, normalized, xga, wxga, fwxga, or WIDTHxHEIGHT
    max_width: int | None = field(default=VIEW_MAX_WIDTH, init=False)
    """widest screenshot `auto` and `normalized` send: display.view()'s, DisplayConfig.view.max_width, which
    Devices binds with viewed_at() (None: full size); not set here, so the two cannot disagree"""

    def __post_init__(self) -> None:
        if self.kind not in KINDS and not _SIZE.match(str(self.kind)):
            raise DeviceUsageError(f"unknown coordinate scaling {self.kind!r}; use one of {', '.join(KINDS)} "
                                   "or WIDTHxHEIGHT (e.g. 1024x768)")

    def viewed_at(self, max_width: int | None) -> Scaling:
        """This scaling on a display whose view() sends screenshots at most max_width wide (None: full size)."""
        bound = Scaling(self.kind)
        object.__setattr__(bound, "max_width", max_width)  # frozen, and not an argument (see max_width)
        return bound

    @property
    def native(self) -> bool:
        """Whether model coordinates are screen pixels (nothing to map)."""
        return self.kind == "native"

    def prompt(self) -> str:
        """A sentence telling a model which coordinates to use ("" when they are the screenshot's pixels)."""
        if self.kind == "normalized":
            return (f"Coordinates in every computer.* call run from 0 to {NORMALIZED - 1} on each axis (0, 0 top left, "
                    f"{NORMALIZED - 1}, {NORMALIZED - 1} bottom right) whatever the screen's size; the boxes and "
                    "positions you get back use the same units.")
        if self.kind in ("auto", "native"):
            return ""
        width, height = self.image_size((1, 1))
        return (f"The screen is {width}x{height} pixels to you: screenshots are that size, and coordinates in "
                "every computer.* call (and the boxes and positions you get back) are pixels of it.")

    def maps(self, screen: Size) -> bool:
        """Whether model coordinates differ from screen pixels on a screen of this size."""
        return self.kind == "normalized" or self.image_size(screen) != screen

    def image_size(self, screen: Size) -> Size:
        """The size of the screenshot the model is shown, for a screen of this size."""
        if self.kind in SIZES:
            return SIZES[self.kind]
        found = _SIZE.match(self.kind)
        if found:
            return int(found[1]), int(found[2])
        return screen if self.kind == "native" else fit_width(screen, self.max_width)

    def _space(self, screen: Size) -> Size:
        """The extent of model coordinates on each axis."""
        return (NORMALIZED, NORMALIZED) if self.kind == "normalized" else self.image_size(screen)

    def to_screen(self, x: float, y: float, screen: Size) -> tuple[int, int]:
        """A model's point as a screen pixel (kept on the screen when the model's is on its image)."""
        (sw, sh), (mw, mh) = screen, self._space(screen)
        return min(sw - 1, max(0, round(x * sw / mw))), min(sh - 1, max(0, round(y * sh / mh)))

    def to_model(self, x: float, y: float, screen: Size) -> tuple[int, int]:
        """A screen pixel as the model's point."""
        (sw, sh), (mw, mh) = screen, self._space(screen)
        return round(x * mw / sw), round(y * mh / sh)

    def point_to_screen(self, x: float, y: float, screen: Size) -> tuple[int, int]:
        """to_screen for a point the model chose: OffScreen, in the model's terms, when it is off its image."""
        mw, mh = self._space(screen)
        if not (0 <= x < mw and 0 <= y < mh):
            raise OffScreen(f"point ({x}, {y}) is off the screen, which is {mw}x{mh} in your coordinates "
                            f"(x from 0 to {mw - 1}, y from 0 to {mh - 1})")
        return self.to_screen(x, y, screen)

    def space(self, screen: Size) -> Size:
        """How far model coordinates run on each axis (what display.size() answers)."""
        return self._space(screen)

    def lengths_to_screen(self, width: float, height: float, screen: Size) -> tuple[int, int]:
        """A model's width and height in screen pixels."""
        (sw, sh), (mw, mh) = screen, self._space(screen)
        return max(1, round(width * sw / mw)), max(1, round(height * sh / mh))

    def lengths_to_model(self, width: float, height: float, screen: Size) -> tuple[int, int]:
        """Screen widths and heights in the model's units."""
        (sw, sh), (mw, mh) = screen, self._space(screen)
        return max(1, round(width * mw / sw)), max(1, round(height * mh / sh))

    # -- the arguments and results of computer.* calls ---------------------------------------------
    def arguments(self, arguments: dict[str, Any], screen: Size) -> dict[str, Any]:
        """A call's bound arguments with every coordinate in screen pixels (others untouched)."""
        return self._fields(arguments, screen, to_screen=True)

    def result(self, value: Any, screen: Size) -> Any:
        """A plain (msgpack-ready) result with its points and boxes in the model's coordinates."""
        if isinstance(value, list):
            return [self.result(item, screen) for item in value]
        if not isinstance(value, dict):
            return value
        # a path or region is mapped whole by its row of COORDINATES, not field by field as well
        inner = {key: item if key in _WHOLE else self.result(item, screen) for key, item in value.items()}
        return self._fields(inner, screen, to_screen=False)

    def _fields(self, values: dict[str, Any], screen: Size, *, to_screen: bool) -> dict[str, Any]:
        """`values` with the coordinates COORDINATES names mapped one way (others untouched)."""
        out = dict(values)
        for names, kind in COORDINATES:
            found: list[Any] = [out.get(name) for name in names]
            if kind in ("path", "region"):
                if names[0] in out:
                    out[names[0]] = (self._path if kind == "path" else self._region)(found[0], screen, to_screen)
            elif _numbers(*found):
                mapped = (self._point if kind == "point" else self._lengths)(found[0], found[1], screen, to_screen)
                out.update(zip(names, mapped, strict=True))
        return out

    def _point(self, x: float, y: float, screen: Size, to_screen: bool) -> tuple[int, int]:
        """A point a model chose (OffScreen off its image) as a pixel, or a pixel as the model's point."""
        return self.point_to_screen(x, y, screen) if to_screen else self.to_model(x, y, screen)

    def _lengths(self, width: float, height: float, screen: Size, to_screen: bool) -> tuple[int, int]:
        return (self.lengths_to_screen if to_screen else self.lengths_to_model)(width, height, screen)

    def _path(self, path: Any, screen: Size, to_screen: bool) -> Any:
        if not isinstance(path, (list, tuple)):
            return path
        return [list(self._point(p[0], p[1], screen, to_screen))
                if isinstance(p, (list, tuple)) and len(p) == 2 and _numbers(*p) else p for p in path]

    def _region(self, region: Any, screen: Size, to_screen: bool) -> Any:
        """[left, top, width, height] or a dict of them, mapped; anything else as it was (the display
        refuses it, saying why)."""
        corner = self.to_screen if to_screen else self.to_model
        if isinstance(region, dict) and _numbers(*(region.get(k) for k in ("left", "top", "width", "height"))):
            left, top = corner(region["left"], region["top"], screen)
            width, height = self._lengths(region["width"], region["height"], screen, to_screen)
            return {"left": left, "top": top, "width": width, "height": height}
        if isinstance(region, (list, tuple)) and len(region) == 4 and _numbers(*region):
            return [*corner(region[0], region[1], screen), *self._lengths(region[2], region[3], screen, to_screen)]
        return region


#: Every coordinate in computer.* calls' arguments and results, by the names it goes by in any call
#: (mouse.click's x, y; mouse.drag's to_x, to_y and path; windows.resize's width, height; display.view's
#: region; an OCR box's left, top, width, height...): Scaling.arguments maps them to screen pixels,
#: Scaling.result back into the model's. A call whose coordinates go by these names needs nothing
#: here; a new name is one row. Kinds: "point" (x and y), "lengths" (a width and a height),
#: "path" (a list of [x, y]) and "region" ([left, top, width, height] or a dict with those keys).
COORDINATES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("x", "y"), "point"),
    (("to_x", "to_y"), "point"),
    (("left", "top"), "point"),
    (("width", "height"), "lengths"),
    (("path",), "path"),
    (("region",), "region"),
)
_WHOLE = {names[0] for names, kind in COORDINATES if kind in ("path", "region")}


def _numbers(*values: object) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
