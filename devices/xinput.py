"""Mouse and keyboard input through the X TEST extension, one connection per display.

Each display gets an `XInput` with its own python-xlib connection, so one process
drives as many desktops as it has: a fleet's sandboxes, a server's sessions, the host
screen next to a sandbox's. (pyautogui, used before, kept its connection in a module
global opened at import: one display per process.)

Keys are looked up in the display's own keymap: a character is typed with shift
when the keymap has it on the shifted level, and characters it lacks (é, ✓, 中)
are bound to spare keycodes (`devices.unikeys`). A key name it cannot press is an
error, never a silent no-op.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import string
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from devices.errors import DesktopDied, DeviceError, FailSafe, NoDisplay, UnknownKey
from devices.unikeys import UnicodeKeys, keysym_of

log = logging.getLogger(__name__)

#: key names (lower case) and the X keysym each one presses
KEYSYMS: dict[str, str] = {
    "backspace": "BackSpace", "\b": "BackSpace", "tab": "Tab", "\t": "Tab",
    "enter": "Return", "return": "Return", "\n": "Return", "\r": "Return",
    "space": "space", "esc": "Escape", "escape": "Escape",
    "shift": "Shift_L", "shiftleft": "Shift_L", "shiftright": "Shift_R",
    "ctrl": "Control_L", "ctrlleft": "Control_L", "ctrlright": "Control_R", "control": "Control_L",
    "alt": "Alt_L", "altleft": "Alt_L", "altright": "Alt_R", "option": "Alt_L",
    "win": "Super_L", "winleft": "Super_L", "winright": "Super_R", "super": "Super_L",
    "command": "Super_L", "cmd": "Super_L", "meta": "Super_L",
    "apps": "Menu", "menu": "Menu", "pause": "Pause", "capslock": "Caps_Lock",
    "numlock": "Num_Lock", "scrolllock": "Scroll_Lock",
    "pgup": "Page_Up", "pageup": "Page_Up", "pgdn": "Page_Down", "pagedown": "Page_Down",
    "end": "End", "home": "Home", "left": "Left", "up": "Up", "right": "Right", "down": "Down",
    "insert": "Insert", "del": "Delete", "delete": "Delete", "help": "Help", "select": "Select",
    "execute": "Execute", "print": "Print", "prtsc": "Print", "prtscr": "Print", "prntscrn": "Print",
    "printscreen": "Print",
    "multiply": "KP_Multiply", "add": "KP_Add", "separator": "KP_Separator", "subtract": "KP_Subtract",
    "decimal": "KP_Decimal", "divide": "KP_Divide",
    **{f"num{n}": f"KP_{n}" for n in range(10)},
    **{f"f{n}": f"F{n}" for n in range(1, 25)},
}

#: every key name press(), hotkey(), down() and up() accept: the names above and printable ASCII
KEY_NAMES: tuple[str, ...] = tuple(sorted(KEYSYMS)) + tuple(c for c in string.printable if c not in KEYSYMS
                                                            and c not in "\x0b\x0c")
_KNOWN = frozenset(KEY_NAMES)

#: mouse buttons by name, and the wheel as X buttons (4 up, 5 down, 6 left, 7 right)
BUTTONS = {"left": 1, "middle": 2, "right": 3}
_WHEEL = {"up": 4, "down": 5, "left": 6, "right": 7}
_GLIDE_STEP = 0.01  # seconds between pointer moves while gliding
#: longest wait for the server to deliver a click while a window manager holds the pointer frozen
DELIVERY_TIMEOUT = 2.0


def ensure_xauthority(xauthority: str | None) -> None:
    """Point XAUTHORITY at an existing file: python-xlib refuses to connect otherwise.

    Our Xvfb desktops take no cookie (the file is empty), so any existing file serves every display.
    """
    if xauthority and Path(xauthority).is_file():
        os.environ["XAUTHORITY"] = xauthority
    if not Path(os.environ.get("XAUTHORITY", "")).is_file():
        path = Path(tempfile.mkdtemp(prefix="lmc-xauth-")) / "Xauthority"
        path.touch()
        os.environ["XAUTHORITY"] = str(path)


class XInput:
    """Synthetic mouse and keyboard events on one X display; calls from several threads are serialized."""

    def __init__(self, display: str, xauthority: str | None = None) -> None:
        self.display = display
        self.failsafe = False  #: refuse to act while the pointer sits in a screen corner (a human's stop)
        self._xauthority = xauthority
        self._conn: Any = None
        self._lock = threading.RLock()
        self._unicode = UnicodeKeys()

    # -- the connection --------------------------------------------------------------------------
    def conn(self) -> Any:
        """The python-xlib connection, opened on first use and again when the X server closed it.

        A display number is reused once its Xvfb stops (a docker sandbox's desktop, then the next
        one's), so a kept connection may lead to a server that is gone.
        """
        if self._conn is not None and _closed(self._conn):
            log.info("the X server of %s closed our input connection; reconnecting", self.display)
            self.disconnect()
        if self._conn is None:
            from Xlib import error as xerror
            from Xlib.display import Display as XDisplay

            ensure_xauthority(self._xauthority)
            try:
                conn = XDisplay(self.display)
            except (xerror.DisplayError, xerror.ConnectionClosedError, xerror.XauthError, OSError) as exc:
                raise NoDisplay(
                    f"cannot connect to X display {self.display!r} ({exc}); start a virtual desktop "
                    "(--desktop virtual, needs 'apt-get install xvfb') or set DISPLAY to a running X server"
                ) from exc
            if not conn.has_extension("XTEST"):
                conn.close()
                raise NoDisplay(f"X display {self.display} has no XTEST extension, so input cannot be sent to it")
            self._conn = conn
            self._unicode = UnicodeKeys()
            log.info("input connected to X display %s", self.display)
        return self._conn

    def disconnect(self) -> None:
        """Drop the connection (a dead or restarted display); the next call opens a new one."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _fake(self, event: int, detail: int = 0, **where: int) -> None:
        from Xlib.ext.xtest import fake_input

        fake_input(self.conn(), event, detail, **where)

    def _sync(self) -> None:
        conn = self.conn()
        try:
            conn.sync()
        except TypeError as exc:  # python-xlib's own bug on a broken pipe: err[1] of an OSError
            if not _closed(conn):
                raise
            from Xlib import error as xerror

            raise xerror.ConnectionClosedError("server") from exc

    # -- the pointer -------------------------------------------------------------------------------
    def position(self) -> tuple[int, int]:
        """Where the pointer is."""
        with self._lock:
            data = self.conn().screen().root.query_pointer()
            return int(data.root_x), int(data.root_y)

    def size(self) -> tuple[int, int]:
        """The screen's width and height in pixels."""
        screen = self.conn().screen()
        return int(screen.width_in_pixels), int(screen.height_in_pixels)

    def _guard(self) -> tuple[int, int] | None:
        """FailSafe while the fail-safe is on and the pointer is in a corner; else where it is (None when off)."""
        if not self.failsafe:
            return None
        x, y = self.position()
        w, h = self.size()
        if x in (0, w - 1) and y in (0, h - 1):
            raise FailSafe(
                "stopped: the mouse is in a corner of the screen, which is the user's signal to stop "
                "(the fail-safe); move it away from the corner before acting again"
            )
        return x, y

    def _move(self, x: int, y: int, glide: float = 0.0, start: tuple[int, int] | None = None) -> None:
        """Move to x, y, gliding from `start` (where the pointer is, if the caller just asked; else asked here)."""
        from Xlib import X

        steps = int(glide / _GLIDE_STEP)
        if steps > 1:
            ox, oy = start or self.position()
            for step in range(1, steps):
                self._fake(X.MotionNotify, x=round(ox + (x - ox) * step / steps), y=round(oy + (y - oy) * step / steps))
                self._sync()
                time.sleep(_GLIDE_STEP)
        self._fake(X.MotionNotify, x=int(x), y=int(y))
        self._sync()

    def _button(self, button: str | int, down: bool) -> None:
        from Xlib import X

        self._fake(X.ButtonPress if down else X.ButtonRelease, BUTTONS[button] if isinstance(button, str) else button)
        self._sync()

    def _delivered(self) -> None:
        """Return once the server has delivered the button events sent so far.

        A click-to-focus window manager such as openbox grabs the buttons in synchronous mode:
        the server freezes the pointer at each press until the manager has focused the clicked window
        and replays the press to it. Keys are not frozen, so keys sent at once (click a field, type)
        reach the old focus before the app sees the click; on a loaded machine they are lost. Pointer
        events are processed in order, so a 1-pixel move sent now shows in the reported position only
        once everything before it has been delivered: wait for that, then move back.
        """
        x, y = self.position()
        probe = x + 1 if x + 1 < self.size()[0] else x - 1
        self._move(probe, y)
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        pause = 0.001
        while self.position() != (probe, y):
            if time.monotonic() > deadline:
                log.warning("the pointer of %s stayed frozen for %.1f s after a click (a window manager or app "
                            "holding a synchronous grab); going on without waiting", self.display, DELIVERY_TIMEOUT)
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
        self._move(x, y)

    def move(self, x: int, y: int, glide: float = 0.0) -> None:
        """Move the pointer to x, y, in a straight glide over `glide` seconds (0 jumps)."""
        with self._lock:
            self._move(x, y, glide, start=self._guard())  # one pointer query serves both

    def button(self, button: str, down: bool, at: tuple[int, int] | None = None) -> None:
        """Press (down=True) or release a button, after moving to `at` if given."""
        with self._lock:
            self._guard()
            if at is not None:
                self._move(*at)
            self._button(button, down)
            if not down:
                self._delivered()

    def click(self, x: int, y: int, button: str = "left", clicks: int = 1) -> None:
        """Move to x, y and click `clicks` times."""
        with self._lock:
            self._guard()
            self._move(x, y)
            for _ in range(clicks):
                self._button(button, True)
                self._button(button, False)
            self._delivered()

    def drag(self, points: Sequence[tuple[int, int]], button: str = "left", steps: int = 8) -> None:
        """Press at the first point, pass through each one (`steps` moves per leg), release at the last."""
        with self._lock:
            self._guard()
            self._move(*points[0])
            self._button(button, True)
            for (ax, ay), (bx, by) in zip(points, points[1:], strict=False):
                for step in range(1, steps + 1):
                    self._move(round(ax + (bx - ax) * step / steps), round(ay + (by - ay) * step / steps))
            self._button(button, False)
            self._delivered()

    def scroll(self, x: int, y: int, dx: int = 0, dy: int = 0) -> None:
        """Turn the wheel over x, y: dy > 0 scrolls down, dx > 0 right, one wheel click per unit."""
        with self._lock:
            self._guard()
            self._move(x, y)
            for amount, (negative, positive) in ((dy, ("up", "down")), (dx, ("left", "right"))):
                wheel = _WHEEL[positive if amount > 0 else negative]
                for _ in range(abs(amount)):
                    self._button(wheel, True)
                    self._button(wheel, False)
            self._delivered()

    # -- the keyboard ------------------------------------------------------------------------------
    def _code(self, keysym: int) -> tuple[int, bool] | None:
        """The keycode that types `keysym`, and whether it needs shift; None if the keymap lacks it."""
        for keycode, index in self.conn().keysym_to_keycodes(keysym):
            if index in (0, 1):
                return keycode, index == 1
        return None

    def has_key(self, char: str) -> bool:
        """Whether the keymap has a key for the character (typed as is, or with shift)."""
        if char in KEYSYMS:
            return True
        return self._code(keysym_of(char)) is not None

    def _key(self, name: str) -> tuple[int, bool]:
        import Xlib.XK

        if name in KEYSYMS:
            keysym = Xlib.XK.string_to_keysym(KEYSYMS[name])
        elif len(name) == 1:
            keysym = keysym_of(name)
        else:
            raise UnknownKey(f"unknown key {name!r}")
        code = self._code(keysym) if keysym else None
        if code is None:
            raise UnknownKey(f"X display {self.display} has no key for {name!r} in its keymap; "
                             "type characters with write(), which binds missing ones")
        return code

    def _keyev(self, name: str, down: bool) -> None:
        from Xlib import X

        keycode, shifted = self._key(name)
        shift = self._key("shift")[0] if shifted else None
        if down:
            if shift is not None:
                self._fake(X.KeyPress, shift)
            self._fake(X.KeyPress, keycode)
        else:
            self._fake(X.KeyRelease, keycode)
            if shift is not None:
                self._fake(X.KeyRelease, shift)
        self._sync()

    def key(self, name: str, down: bool) -> None:
        """Press (down=True) or release the key `name` (a KEY_NAMES entry); shifted characters hold shift."""
        with self._lock:
            self._guard()
            self._keyev(name, down)

    def press(self, names: Sequence[str], presses: int = 1) -> None:
        """Press and release each key in turn, `presses` times over."""
        with self._lock:
            self._guard()
            for _ in range(presses):
                for name in names:
                    self._keyev(name, True)
                    self._keyev(name, False)

    def hotkey(self, names: Sequence[str]) -> None:
        """Hold the keys down in order, then release them in reverse."""
        with self._lock:
            self._guard()
            for name in names:
                self._keyev(name, True)
            for name in reversed(names):
                self._keyev(name, False)

    def write(self, text: str, interval: float = 0.0) -> None:
        """Type text: keys the keymap has are tapped, the rest bound to spare keycodes and typed."""
        with self._lock:
            self._guard()
            pending = ""
            for char in text:
                if self.has_key(char):
                    if pending:
                        self._unicode.type(self.conn(), pending)
                        pending = ""
                    self._keyev(char, True)
                    self._keyev(char, False)
                    if interval:
                        time.sleep(interval)
                else:
                    pending += char
            if pending:
                self._unicode.type(self.conn(), pending)


def _closed(conn: Any) -> bool:
    """Whether the X server has closed this connection (its socket reads end of file)."""
    sock = conn.display.socket
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


_inputs: dict[str, XInput] = {}
_inputs_lock = threading.Lock()


def input_for(display: str, xauthority: str | None = None) -> XInput:
    """The process's XInput for `display` (one connection per display, shared by its devices)."""
    with _inputs_lock:
        found = _inputs.get(display)
        if found is None:
            found = _inputs[display] = XInput(display, xauthority)
        return found


def forget(display: str) -> None:
    """Close the connection to `display` (its desktop stopped or restarted); the next use reconnects."""
    with _inputs_lock:
        found = _inputs.pop(display, None)
    if found is not None:
        found.disconnect()


@contextlib.contextmanager
def x_errors(display: str) -> Iterator[None]:
    """Turn python-xlib failures into DeviceError subclasses; a lost connection is dropped to reconnect later."""
    from Xlib import error as xerror

    try:
        yield
    except xerror.ConnectionClosedError as exc:
        forget(display)
        raise DesktopDied(
            f"lost the connection to X display {display} ({exc}); if it is a virtual desktop, "
            "restart it (DeviceActor.restart())"
        ) from exc
    except (BrokenPipeError, ConnectionResetError) as exc:
        forget(display)
        raise DesktopDied(f"lost the connection to X display {display} ({exc})") from exc
    except xerror.XError as exc:
        raise DeviceError(f"X display {display} refused an input event: {exc}") from exc
