"""The one place pyautogui is imported, bound to a display, and its errors mapped.

pyautogui opens its X connection when it is imported, from the DISPLAY
variable, and keeps it in a module global: one display per process. So the
variables are set just before the first import, a second display in the same
process is refused while the first lives (use one DeviceActor per desktop), and
after a desktop restart the connection is reopened in place, since pyautogui has
no public call for that.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from devices.errors import DesktopDied, DeviceError, DisplayBound, FailSafe, NoDisplay
from devices.xdisplay import socket_path

log = logging.getLogger(__name__)


def _ensure_xauthority(xauthority: str | None) -> None:
    """Point XAUTHORITY at an existing file; python-xlib fails to connect otherwise."""
    if xauthority:
        os.environ["XAUTHORITY"] = xauthority
    if not Path(os.environ.get("XAUTHORITY", "")).is_file():
        folder = tempfile.mkdtemp(prefix="lmc-xauth-")
        path = Path(folder) / "Xauthority"
        path.touch()
        os.environ["XAUTHORITY"] = str(path)


def _import(display: str, xauthority: str | None) -> ModuleType:
    os.environ["DISPLAY"] = display
    _ensure_xauthority(xauthority)
    from Xlib import error as xerror

    try:
        import pyautogui
    except (xerror.DisplayError, xerror.ConnectionClosedError) as exc:
        raise NoDisplay(
            f"cannot connect to X display {display!r} ({exc}); start a virtual desktop "
            "(--desktop virtual, needs 'apt-get install xvfb') or set DISPLAY to a running X server"
        ) from exc
    # the defaults suit a human at a real screen: 0.1 s sleep after every call, and a
    # corner of the screen that aborts; neither makes sense for a model on a virtual desktop
    pyautogui.PAUSE = 0.0
    pyautogui.FAILSAFE = False
    pyautogui.MINIMUM_DURATION = 0.0
    log.info("pyautogui bound to X display %s", display)
    module: ModuleType = pyautogui  # pyautogui ships no type hints: name what it is
    return module


def enable_failsafe(display: str, xauthority: str | None = None) -> None:
    """Let a human stop the session by pushing the mouse into a screen corner (for real screens)."""
    setattr(pyautogui_for(display, xauthority), "FAILSAFE", True)  # noqa: B010 (a module global)


def bound_display() -> str | None:
    """The display pyautogui is bound to in this process, or None before import."""
    module = sys.modules.get("pyautogui._pyautogui_x11")
    if module is None:
        return None
    return str(module._display.get_display_name())


def pyautogui_for(display: str, xauthority: str | None = None) -> ModuleType:
    """pyautogui bound to `display`, imported on first use; DisplayBound if another display holds it."""
    current = bound_display()
    if current is None:
        return _import(display, xauthority)
    import pyautogui

    if current != display:
        if socket_path(current).exists():
            raise DisplayBound(
                f"this process already drives X display {current}, so it cannot drive {display}: "
                "pyautogui binds one display per process; run one DeviceActor per desktop"
            )
        rebind(display)
    module: ModuleType = pyautogui  # pyautogui ships no type hints: name what it is
    return module


def x_connection() -> Any:
    """pyautogui's python-xlib connection, for X calls pyautogui lacks (call pyautogui_for first)."""
    return sys.modules["pyautogui._pyautogui_x11"]._display


def has_key(char: str) -> bool:
    """Whether pyautogui has a key for the character (it silently skips the ones it has not)."""
    return sys.modules["pyautogui._pyautogui_x11"].keyboardMapping.get(char) is not None


def rebind(display: str) -> None:
    """Reopen pyautogui's X connection to `display` (after its Xvfb was restarted)."""
    from Xlib import error as xerror
    from Xlib.display import Display

    module = sys.modules["pyautogui._pyautogui_x11"]
    try:
        setattr(module, "_display", Display(display))  # noqa: B010 - pyautogui keeps it in a module global
    except (xerror.DisplayError, xerror.ConnectionClosedError) as exc:
        raise NoDisplay(f"cannot reconnect to X display {display!r}: {exc}") from exc
    os.environ["DISPLAY"] = display
    log.info("pyautogui rebound to X display %s", display)


@contextlib.contextmanager
def x_errors(display: str) -> Iterator[None]:
    """Turn python-xlib and pyautogui failures into DeviceError subclasses."""
    from Xlib import error as xerror

    gui = sys.modules.get("pyautogui")  # never import it here: importing binds a display
    failsafe: Any = gui.FailSafeException if gui is not None else ()
    try:
        yield
    except failsafe as exc:
        raise FailSafe(
            "stopped: the mouse is in a corner of the screen, which is the user's signal to stop "
            "(pyautogui's fail-safe); move it away from the corner before acting again"
        ) from exc
    except xerror.ConnectionClosedError as exc:
        raise DesktopDied(
            f"lost the connection to X display {display} ({exc}); if it is a virtual desktop, "
            "restart it (DeviceActor.restart())"
        ) from exc
    except (xerror.XError, BrokenPipeError, ConnectionResetError) as exc:
        raise DeviceError(f"X display {display} refused an input event: {exc}") from exc
