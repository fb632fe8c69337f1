"""Typing characters the keymap lacks (é, ✓, 中) by binding them to spare keycodes, as xdotool does.

Pasting them instead is asynchronous: keys typed right after ctrl+v overtook
the paste under load. A keysym bound on the same X connection as the key
events stays in order with them, and the clipboard is left alone.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from devices.errors import DeviceError

log = logging.getLogger(__name__)

# before a keycode is rebound, give apps a moment to read the keys typed with its old binding
_REBIND_PAUSE = 0.02
# after new bindings, give apps a moment to handle MappingNotify before keys arrive: under load,
# a key typed at once was read with the old (empty) mapping and dropped (seen as a flaky test)
_SETTLE = 0.05


def keysym_of(char: str) -> int:
    """The X keysym of a character: Latin-1 codes map to themselves, the rest to 0x01000000 + code."""
    code = ord(char)
    return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x01000000 | code


class UnicodeKeys:
    """Binds characters to the keymap's spare keycodes, most recently used kept, and types them."""

    def __init__(self) -> None:
        self._conn: Any = None
        self._spare: list[int] = []
        self._bound: OrderedDict[str, int] = OrderedDict()

    def _attach(self, conn: Any) -> None:
        if conn is self._conn:
            return
        first, last = conn.display.info.min_keycode, conn.display.info.max_keycode
        mapping = conn.get_keyboard_mapping(first, last - first + 1)
        self._spare = [first + i for i, syms in enumerate(mapping) if not any(syms)]
        if not self._spare:
            raise DeviceError("the X keymap has no spare keycode to type characters it lacks")
        self._conn, self._bound = conn, OrderedDict()
        log.debug("%d spare keycodes for characters without keys", len(self._spare))

    def _keycode(self, char: str) -> int:
        if char in self._bound:
            self._bound.move_to_end(char)
            return self._bound[char]
        if len(self._bound) < len(self._spare):
            keycode = self._spare[len(self._bound)]
        else:
            _, keycode = self._bound.popitem(last=False)
            self._conn.sync()
            time.sleep(_REBIND_PAUSE)
        keysym = keysym_of(char)
        self._conn.change_keyboard_mapping(keycode, [(keysym, keysym)])
        self._bound[char] = keycode
        return keycode

    def type(self, conn: Any, text: str) -> None:
        """Press and release a key for each character of `text` on the connection `conn`."""
        from Xlib import X
        from Xlib.ext.xtest import fake_input

        self._attach(conn)
        fresh = list(dict.fromkeys(c for c in text if c not in self._bound))
        if fresh and len(fresh) + len(self._bound) <= len(self._spare):
            for char in fresh:  # bind them all first, then let apps catch up once
                self._keycode(char)
            conn.sync()
            time.sleep(_SETTLE)
        for char in text:
            rebinding = char not in self._bound
            keycode = self._keycode(char)
            if rebinding:
                conn.sync()
                time.sleep(_SETTLE)
            fake_input(conn, X.KeyPress, keycode)
            fake_input(conn, X.KeyRelease, keycode)
        conn.sync()
