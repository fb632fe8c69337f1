"""The clipboard of one X display, through xclip (UTF-8 text)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from typing import Protocol

from devices.errors import ClipboardError, DesktopDied, DeviceUsageError
from devices.xdisplay import socket_path

log = logging.getLogger(__name__)

_TIMEOUT = 5.0


class XClip:
    """Reads and writes the CLIPBOARD selection of one display by running xclip.

    pyperclip would read the process's DISPLAY; calling xclip with an explicit
    environment binds the clipboard to this display whatever the process's is.
    """

    def __init__(self, display: str, xauthority: str | None = None) -> None:
        self.display = display
        self._env = dict(os.environ, DISPLAY=display)
        if xauthority:
            self._env["XAUTHORITY"] = xauthority

    def _xclip(self) -> str:
        path = shutil.which("xclip")
        if path is None:
            raise ClipboardError("the clipboard needs xclip: install it with 'apt-get install xclip'")
        if not socket_path(self.display).exists():
            raise DesktopDied(f"X display {self.display} is gone; restart the desktop to use its clipboard")
        return path

    def write(self, text: str) -> None:
        """Own the clipboard with `text` (xclip keeps serving it in the background)."""
        if not isinstance(text, str):
            raise DeviceUsageError(f"the clipboard holds text, got {type(text).__name__}")
        command = [self._xclip(), "-selection", "clipboard", "-t", "UTF8_STRING", "-i"]
        # xclip forks a child that serves the selection; pipes it inherits would never close
        with tempfile.TemporaryFile() as errors:
            done = subprocess.run(
                command,
                input=text.encode(),
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=self._env,
                timeout=_TIMEOUT,
                check=False,
            )
            if done.returncode != 0:
                errors.seek(0)
                raise ClipboardError(f"xclip could not set the clipboard: {errors.read().decode(errors='replace')}")

    def read(self) -> str:
        """The clipboard's text, or '' when it is empty."""
        command = [self._xclip(), "-selection", "clipboard", "-t", "UTF8_STRING", "-o"]
        done = subprocess.run(command, capture_output=True, env=self._env, timeout=_TIMEOUT, check=False)
        if done.returncode != 0:
            # xclip fails when no client owns the clipboard: that is an empty clipboard
            log.debug("xclip -o exited %s: %r", done.returncode, done.stderr[:200])
            return ""
        return done.stdout.decode(errors="replace")


class PasteKeys(Protocol):
    """Presses the paste shortcut in the focused window (the keyboard does)."""

    def paste(self) -> None:
        """Press the paste hotkey."""
        ...


class Clipboard:
    """The clipboard device: view(), copy(text), paste()."""

    def __init__(self, xclip: XClip, keys: PasteKeys) -> None:
        self.xclip = xclip
        self.keys = keys

    def view(self) -> str:
        """The text on the clipboard ('' when empty)."""
        return self.xclip.read()

    def copy(self, text: str) -> None:
        """Put `text` on the clipboard."""
        self.xclip.write(text)

    def paste(self) -> None:
        """Paste the clipboard into the focused window, as a person would with the paste hotkey."""
        self.keys.paste()
