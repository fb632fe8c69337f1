"""`Devices`: display, mouse, keyboard, clipboard, windows, accessibility of an X display; the computer.* dispatcher."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devices.accessibility import Accessibility, AccessibilityConfig
from devices.clipboard import Clipboard, XClip
from devices.display import Display, DisplayConfig
from devices.errors import DeviceError, DeviceUsageError, UnknownCall
from devices.frame import Region
from devices.icons import CandidateConfig, IconLocator
from devices.keyboard import Keyboard, KeyboardConfig
from devices.mouse import Mouse, MouseConfig
from devices.ocr.base import OCREngine, TextBox
from devices.scaling import Scaling
from devices.targets import Pointer
from devices.windows import Windows, WindowsConfig
from lmc.messages import Message

log = logging.getLogger(__name__)

#: Every computer.* call sandboxed code may make, as "device.method". Nothing else is reachable.
CALLS = (
    "display.view",
    "display.screenshot",
    "display.size",
    "display.find_text",
    "display.get_text",
    "display.marks",
    "mouse.move",
    "mouse.click",
    "mouse.double_click",
    "mouse.right_click",
    "mouse.drag",
    "mouse.scroll",
    "mouse.position",
    "mouse.down",
    "mouse.up",
    "keyboard.write",
    "keyboard.press",
    "keyboard.hotkey",
    "keyboard.down",
    "keyboard.up",
    "clipboard.view",
    "clipboard.copy",
    "clipboard.paste",
    "windows.list",
    "windows.active",
    "windows.find",
    "windows.activate",
    "windows.close",
    "windows.move",
    "windows.resize",
    "accessibility.tree",
    "accessibility.find",
    "accessibility.click",
    # not windows.launch: it starts a program on the devices' machine, outside any sandbox
)

#: the devices of a computer, as computer.<name>
DEVICES = ("display", "mouse", "keyboard", "clipboard", "windows", "accessibility")


@dataclass(frozen=True)
class DevicesConfig:
    """Settings of every device on one display."""

    display: DisplayConfig = field(default_factory=DisplayConfig)  #: screenshots and OCR
    mouse: MouseConfig = field(default_factory=MouseConfig)  #: pointer movement
    keyboard: KeyboardConfig = field(default_factory=KeyboardConfig)  #: typing
    candidates: CandidateConfig = field(default_factory=CandidateConfig)  #: icon candidate boxes (icon=, marks)
    windows: WindowsConfig = field(default_factory=WindowsConfig)  #: window requests
    accessibility: AccessibilityConfig = field(default_factory=AccessibilityConfig)  #: AT-SPI tree bounds
    scaling: Scaling = field(default_factory=Scaling)
    """the coordinates computer.* calls speak (devices.scaling): screenshot size and the points in and out"""


class Devices:
    """The screen devices of one X display, reachable by method or by `call("mouse.click", ...)`."""

    def __init__(
        self,
        display: str,
        config: DevicesConfig | None = None,
        *,
        xauthority: str | None = None,
        ocr: OCREngine | None = None,
        icon_locator: IconLocator | None = None,
    ) -> None:
        self.config = config or DevicesConfig()
        #: the coordinates of computer.* calls, with `auto` sized as this display's view() sends screenshots
        self.scaling = self.config.scaling.viewed_at(self.config.display.view.max_width)
        self.display = Display(display, self.config.display, ocr, self.config.candidates)
        pointer = Pointer(self.display, icon_locator, self.config.candidates)
        self.mouse = Mouse(pointer, self.config.mouse, xauthority)
        self.keyboard = Keyboard(display, self.config.keyboard, xauthority)
        self.clipboard = Clipboard(XClip(display, xauthority), self.keyboard)
        self.windows = Windows(display, self.config.windows, xauthority)
        self.accessibility = Accessibility(display, self.windows, self.mouse, self.config.accessibility)

    def set_icon_locator(self, locator: IconLocator | None) -> None:
        """Plug in (or remove) the vision model that picks icons for icon=."""
        self.mouse.pointer.locator = locator

    def method(self, path: str) -> Callable[..., Any]:
        """The bound method behind a whitelisted call path; UnknownCall naming the known ones."""
        if path not in CALLS:
            raise UnknownCall(f"unknown computer call {path!r}; known: {', '.join(CALLS)}")
        device, name = path.split(".")
        return getattr(getattr(self, device), name)  # type: ignore[no-any-return]

    def call(self, path: str, args: list[Any] | tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> object:
        """Run one computer.* call and return a msgpack-ready result (images stay Messages, as in marks' dict)."""
        method = self.method(path)
        kwargs = kwargs or {}
        try:
            bound = inspect.signature(method).bind(*args, **kwargs)
        except TypeError as exc:
            signature = f"computer.{path}{inspect.signature(method)}"
            raise DeviceUsageError(f"bad arguments for computer.{path}: {exc}; expected {signature}") from exc
        log.debug("computer.%s args=%r kwargs=%r", path, args, list(kwargs))
        scaling = self.scaling
        if "scale" in bound.arguments:
            raise DeviceUsageError(f"computer.{path}: scale= is set by the coordinate scaling ({scaling.kind}), "
                                   "not by the caller")
        screen = None if scaling.native else self.display.size()
        if screen is None or not scaling.maps(screen):
            return plain(method(*args, **kwargs))
        if path == "display.size":
            return list(scaling.space(screen))
        bound.arguments.update(scaling.arguments(bound.arguments, screen))
        if path in ("display.view", "display.screenshot", "display.marks"):
            width, height = scaling.image_size(screen)
            bound.arguments["scale"] = (width / screen[0], height / screen[1])
        return scaling.result(plain(method(*bound.args, **bound.kwargs)), screen)

    def reconnect(self) -> None:
        """Reopen the screenshot connection (after the desktop was restarted)."""
        self.display.reconnect()
        self.accessibility.close()

    def close(self) -> None:
        """Release the X connections the devices hold."""
        self.display.close()
        self.windows.close_connection()
        self.accessibility.close()


def plain(value: object) -> object:
    """A result made of msgpack types: TextBox and Region become dicts, tuples become lists."""
    if value is None or isinstance(value, (str, int, float, bool, bytes, Message)):
        return value
    if isinstance(value, TextBox):
        return value.to_dict()
    if isinstance(value, Region):
        return {"left": value.left, "top": value.top, "width": value.width, "height": value.height}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    raise DeviceError(f"a device returned {type(value).__name__}, which cannot travel; this is a bug in devices")
