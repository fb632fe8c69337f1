"""The mouse device: move, click, drag, scroll, press and release; at x, y, or at text= / icon= / mark=."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from devices.errors import DeviceUsageError
from devices.targets import Pointer
from devices.xinput import XInput, input_for, x_errors

log = logging.getLogger(__name__)

BUTTONS = ("left", "middle", "right")
Point = dict[str, int]


def _check_button(button: object) -> None:
    if button not in BUTTONS:
        raise DeviceUsageError(f"unknown mouse button {button!r}; known: {', '.join(BUTTONS)}")


def _check_clicks(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeviceUsageError(f"scroll {name} is a whole number of wheel clicks, got {value!r}")


@dataclass(frozen=True)
class MouseConfig:
    """How the pointer moves."""

    glide_seconds: float = 0.0  #: time to glide to a target; Open Interpreter eases over 2 s, 0 jumps
    drag_steps: int = 8  #: intermediate motion events during a drag, so apps see the pointer travel


class Mouse:
    """Moves and clicks the pointer of one X display."""

    def __init__(self, pointer: Pointer, config: MouseConfig | None = None, xauthority: str | None = None) -> None:
        self.pointer = pointer
        self.display = pointer.display.display
        self.config = config or MouseConfig()
        self._xauthority = xauthority

    def _input(self) -> XInput:
        return input_for(self.display, self._xauthority)

    def _goto(self, x: object, y: object, text: str | None, icon: str | None, mark: object = None) -> tuple[int, int]:
        """Resolve the target and move there."""
        point = self.pointer.resolve(x, y, text, icon, mark)
        with x_errors(self.display):
            self._input().move(*point, glide=self.config.glide_seconds)
        return point

    def move(self, x: object = None, y: object = None, *, text: str | None = None, icon: str | None = None,
             mark: object = None) -> Point:
        """Move the pointer to x, y, or onto text=, icon= or mark= (of display.marks()); returns where it went."""
        px, py = self._goto(x, y, text, icon, mark)
        return {"x": px, "y": py}

    def click(
        self,
        x: object = None,
        y: object = None,
        *,
        text: str | None = None,
        icon: str | None = None,
        button: str = "left",
        clicks: int = 1,
        mark: object = None,
    ) -> Point:
        """Click at x, y, or on text=, icon= or mark= (a number from display.marks()); returns where it clicked.

        Returns once the X server has delivered the click, so keys typed next reach the window it
        focused (a click-to-focus window manager holds each press until it has moved the focus).
        """
        _check_button(button)
        if isinstance(clicks, bool) or not isinstance(clicks, int) or not 1 <= clicks <= 3:
            raise DeviceUsageError(f"clicks must be 1, 2 or 3, got {clicks!r}")
        px, py = self._goto(x, y, text, icon, mark)
        with x_errors(self.display):
            self._input().click(px, py, button=button, clicks=clicks)
        return {"x": px, "y": py}

    def double_click(
        self, x: object = None, y: object = None, *, text: str | None = None, icon: str | None = None,
        mark: object = None,
    ) -> Point:
        """Double-click with the left button."""
        return self.click(x, y, text=text, icon=icon, clicks=2, mark=mark)

    def right_click(
        self, x: object = None, y: object = None, *, text: str | None = None, icon: str | None = None,
        mark: object = None,
    ) -> Point:
        """Click the right button (context menus)."""
        return self.click(x, y, text=text, icon=icon, button="right", mark=mark)

    def drag(
        self,
        x: object = None,
        y: object = None,
        to_x: object = None,
        to_y: object = None,
        *,
        text: str | None = None,
        to_text: str | None = None,
        path: object = None,
        button: str = "left",
        mark: object = None,
        to_mark: object = None,
    ) -> dict[str, Point]:
        """Press at x, y (or text=, or mark=), travel to to_x, to_y (or to_text=, or to_mark=), release.

        path=[[x, y], ...] drags along those points instead (a stroke, a lasso): pressed at the first,
        released at the last, passing through each one.
        """
        _check_button(button)
        if path is not None:
            if any(v is not None for v in (x, y, to_x, to_y, text, to_text, mark, to_mark)):
                raise DeviceUsageError("drag() takes either path= or the start and end points, not both")
            points = self._path(path)
        else:
            start = self.pointer.resolve(x, y, text, None, mark)
            end = self.pointer.resolve(to_x, to_y, to_text, None, to_mark)
            points = [start, end]
        with x_errors(self.display):
            self._input().drag(points, button=button, steps=max(1, self.config.drag_steps))
        return {"from": {"x": points[0][0], "y": points[0][1]}, "to": {"x": points[-1][0], "y": points[-1][1]}}

    def _path(self, path: object) -> list[tuple[int, int]]:
        if not isinstance(path, (list, tuple)) or len(path) < 2:
            raise DeviceUsageError(f"path= is a list of at least two [x, y] points, got {path!r}")
        points = []
        for point in path:
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise DeviceUsageError(f"each point of path= is [x, y], got {point!r}")
            points.append(self.pointer.resolve(point[0], point[1], None, None))
        return points

    def down(self, x: object = None, y: object = None, *, text: str | None = None, icon: str | None = None,
             button: str = "left") -> Point:
        """Press a button and keep it down (at x, y, text= or icon=, or where the pointer is); up() releases."""
        return self._button(button, True, x, y, text, icon)

    def up(self, x: object = None, y: object = None, *, text: str | None = None, icon: str | None = None,
           button: str = "left") -> Point:
        """Release a button pressed with down() (after moving to x, y, text= or icon=, if given)."""
        return self._button(button, False, x, y, text, icon)

    def _button(self, button: str, down: bool, x: object, y: object, text: str | None, icon: str | None) -> Point:
        """Press (down=True) or release `button` at the target, or where the pointer is; returns where."""
        _check_button(button)
        px, py = self._here_or(x, y, text, icon)
        with x_errors(self.display):
            self._input().button(button, down, at=(px, py))
        return {"x": px, "y": py}

    def _here_or(self, x: object, y: object, text: str | None, icon: str | None) -> tuple[int, int]:
        """Move to the target if one is given; else where the pointer is."""
        if x is None and y is None and text is None and icon is None:
            here = self.position()
            return here["x"], here["y"]
        return self._goto(x, y, text, icon)

    def scroll(
        self,
        amount: int | None = None,
        x: object = None,
        y: object = None,
        *,
        text: str | None = None,
        icon: str | None = None,
        horizontal: bool = False,
        dx: int = 0,
        dy: int = 0,
    ) -> Point:
        """Scroll over x, y, text= or icon= (default: where the pointer is).

        Either `amount` wheel clicks (positive: up, or right with horizontal=True), or dx=/dy= in
        screen directions, as browsers' wheel events count: dy > 0 scrolls down, dx > 0 right.
        """
        if amount is not None:
            if dx or dy:
                raise DeviceUsageError("scroll() takes either amount (and horizontal=) or dx=/dy=, not both")
            _check_clicks("amount", amount)
            dx, dy = (amount, 0) if horizontal else (0, -amount)  # amount > 0 is up, or right
        else:
            _check_clicks("dx", dx)
            _check_clicks("dy", dy)
            if not dx and not dy:
                raise DeviceUsageError("scroll() needs an amount, e.g. scroll(-3) to scroll down, or dx=/dy=")
        px, py = self._here_or(x, y, text, icon)
        with x_errors(self.display):
            self._input().scroll(px, py, dx=dx, dy=dy)
        return {"x": px, "y": py}

    def position(self) -> Point:
        """Where the pointer is now."""
        with x_errors(self.display):
            px, py = self._input().position()
        return {"x": int(px), "y": int(py)}
