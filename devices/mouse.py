"""The mouse device: move, click, drag, scroll; at x, y, or at text= / icon= on the screen."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType

from devices.errors import DeviceUsageError
from devices.targets import Pointer
from devices.xinput import pyautogui_for, x_errors

log = logging.getLogger(__name__)

BUTTONS = ("left", "middle", "right")
Point = dict[str, int]


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

    def _gui(self) -> ModuleType:
        return pyautogui_for(self.display, self._xauthority)

    def _goto(self, x: object, y: object, text: str | None, icon: str | None) -> tuple[int, int]:
        """Resolve the target and move there."""
        point = self.pointer.resolve(x, y, text, icon)
        gui = self._gui()
        with x_errors(self.display):
            gui.moveTo(*point, duration=self.config.glide_seconds)
        return point

    def move(self, x: object = None, y: object = None, *, text: str | None = None, icon: str | None = None) -> Point:
        """Move the pointer to x, y, or onto text= or icon=; returns where it went."""
        px, py = self._goto(x, y, text, icon)
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
    ) -> Point:
        """Click at x, y, or on text= or icon=; returns where it clicked."""
        if button not in BUTTONS:
            raise DeviceUsageError(f"unknown mouse button {button!r}; known: {', '.join(BUTTONS)}")
        if isinstance(clicks, bool) or not isinstance(clicks, int) or not 1 <= clicks <= 3:
            raise DeviceUsageError(f"clicks must be 1, 2 or 3, got {clicks!r}")
        px, py = self._goto(x, y, text, icon)
        gui = self._gui()
        with x_errors(self.display):
            gui.click(px, py, clicks=clicks, button=button)
        return {"x": px, "y": py}

    def double_click(
        self, x: object = None, y: object = None, *, text: str | None = None, icon: str | None = None
    ) -> Point:
        """Double-click with the left button."""
        return self.click(x, y, text=text, icon=icon, clicks=2)

    def right_click(
        self, x: object = None, y: object = None, *, text: str | None = None, icon: str | None = None
    ) -> Point:
        """Click the right button (context menus)."""
        return self.click(x, y, text=text, icon=icon, button="right")

    def drag(
        self,
        x: object = None,
        y: object = None,
        to_x: object = None,
        to_y: object = None,
        *,
        text: str | None = None,
        to_text: str | None = None,
        button: str = "left",
    ) -> dict[str, Point]:
        """Press at x, y (or text=), travel to to_x, to_y (or to_text=), release."""
        if button not in BUTTONS:
            raise DeviceUsageError(f"unknown mouse button {button!r}; known: {', '.join(BUTTONS)}")
        start = self.pointer.resolve(x, y, text, None)
        end = self.pointer.resolve(to_x, to_y, to_text, None)
        gui = self._gui()
        steps = max(1, self.config.drag_steps)
        with x_errors(self.display):
            gui.moveTo(*start)
            gui.mouseDown(button=button)
            for step in range(1, steps + 1):
                gui.moveTo(
                    round(start[0] + (end[0] - start[0]) * step / steps),
                    round(start[1] + (end[1] - start[1]) * step / steps),
                )
            gui.mouseUp(button=button)
        return {"from": {"x": start[0], "y": start[1]}, "to": {"x": end[0], "y": end[1]}}

    def scroll(
        self,
        amount: int,
        x: object = None,
        y: object = None,
        *,
        text: str | None = None,
        icon: str | None = None,
        horizontal: bool = False,
    ) -> Point:
        """Scroll `amount` wheel clicks (positive: up or right) over x, y, text= or icon= (default: here)."""
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise DeviceUsageError(f"scroll amount is a whole number of wheel clicks, got {amount!r}")
        if x is None and y is None and text is None and icon is None:
            px, py = self.position().values()
        else:
            px, py = self._goto(x, y, text, icon)
        gui = self._gui()
        with x_errors(self.display):
            if horizontal:
                gui.hscroll(amount, x=px, y=py)
            else:
                gui.vscroll(amount, x=px, y=py)
        return {"x": px, "y": py}

    def position(self) -> Point:
        """Where the pointer is now."""
        gui = self._gui()
        with x_errors(self.display):
            px, py = gui.position()
        return {"x": int(px), "y": int(py)}
