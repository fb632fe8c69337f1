"""The keyboard device: real typing, single keys and hotkeys, as X TEST key events."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass

from devices.errors import DeviceUsageError, UnknownKey
from devices.xinput import KEY_NAMES, XInput, input_for, x_errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyboardConfig:
    """How keys are sent."""

    interval: float = 0.0  #: seconds between typed characters; Xvfb queues events in order, so 0 is safe
    paste_hotkey: tuple[str, ...] = ("ctrl", "v")  #: pastes in most apps; terminals want ctrl+shift+v


class Keyboard:
    """Types text and presses keys on one X display."""

    def __init__(self, display: str, config: KeyboardConfig | None = None, xauthority: str | None = None) -> None:
        self.display = display
        self.config = config or KeyboardConfig()
        self._xauthority = xauthority

    def _input(self) -> XInput:
        return input_for(self.display, self._xauthority)

    def write(self, text: str) -> None:
        """Type `text` key by key; characters with no key (é, ✓, 中) are bound to spare keycodes."""
        if not isinstance(text, str):
            raise DeviceUsageError(f"write() types text, got {type(text).__name__}; pass a str")
        with x_errors(self.display):
            self._input().write(text, interval=self.config.interval)

    def press(self, *keys: str, presses: int = 1) -> None:
        """Press and release each key in turn (`presses` times over)."""
        names = self._check(keys)
        if isinstance(presses, bool) or not isinstance(presses, int) or not 1 <= presses <= 100:
            raise DeviceUsageError(f"presses must be a whole number from 1 to 100, got {presses!r}")
        with x_errors(self.display):
            self._input().press(names, presses=presses)

    def hotkey(self, *keys: str) -> None:
        """Hold the keys down in order and release them in reverse: hotkey("ctrl", "s")."""
        names = self._check(keys)
        with x_errors(self.display):
            self._input().hotkey(names)

    def down(self, key: str) -> None:
        """Press a key and keep it down (shift while clicking, a game's arrow key); up() releases it."""
        (name,) = self._check((key,))
        with x_errors(self.display):
            self._input().key(name, True)

    def up(self, key: str) -> None:
        """Release a key pressed with down()."""
        (name,) = self._check((key,))
        with x_errors(self.display):
            self._input().key(name, False)

    def paste(self) -> None:
        """Press the paste hotkey (KeyboardConfig.paste_hotkey)."""
        self.hotkey(*self.config.paste_hotkey)

    def _check(self, keys: tuple[str, ...]) -> list[str]:
        """The keys, names lower-cased; UnknownKey naming close matches for an unknown name."""
        if not keys:
            raise DeviceUsageError("name at least one key, e.g. press('enter') or hotkey('ctrl', 'c')")
        known = KEY_NAMES
        names = []
        for key in keys:
            name = key.lower() if isinstance(key, str) and len(key) > 1 else key
            if not isinstance(name, str) or name not in known:
                close = difflib.get_close_matches(str(name), known, n=5)
                hint = f"; did you mean {', '.join(close)}?" if close else "; see devices.xinput.KEY_NAMES"
                raise UnknownKey(f"unknown key {key!r}{hint}")
            names.append(name)
        return names

