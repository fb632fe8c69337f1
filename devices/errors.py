"""Errors of the screen devices.

    LMCError
    └── DeviceError                              root of every device error
        ├── DeviceUsageError (ValueError)        the caller asked for something impossible
        │   ├── OffScreen                        coordinates outside the screen
        │   ├── UnknownKey                       a key name not known or not on the keymap
        │   ├── UnknownCall                      a computer.* path not on the whitelist
        │   └── BadTarget                        none or several of x/y, text=, icon=, mark=
        ├── TargetNotFound (LookupError)         nothing on screen matches
        │   ├── TextNotFound                     OCR found no such text
        │   ├── AmbiguousText                    OCR found it several times; lists them
        │   ├── IconNotFound                     the locator chose no candidate box
        │   ├── ElementNotFound                  no accessible element with that role/name (accessibility.py)
        │   └── AmbiguousElement                 several match; lists them with their ids (accessibility.py)
        ├── IconSearchUnavailable (RuntimeError) icon= needs a vision model and none is set
        ├── NoDisplay (RuntimeError)             no X display to bind to
        │   ├── XvfbMissing                      Xvfb is not installed
        ├── DesktopFailed (RuntimeError)         Xvfb would not start
        ├── DesktopDied (RuntimeError)           Xvfb exited under a running session
        ├── FailSafe (RuntimeError)              the mouse sits in a screen corner: stop (host screen)
        ├── ClipboardError (RuntimeError)        xclip is missing or failed
        ├── VncFailed (RuntimeError)             x11vnc would not start (live view of a desktop)
        │   └── VncMissing                       x11vnc is not installed
        ├── RecordingFailed (RuntimeError)       ffmpeg would not record or finish a screen recording
        │   └── FfmpegMissing                    ffmpeg is not installed
        ├── AccessibilityUnavailable (RuntimeError)  no AT-SPI bus on the display, or its packages missing
        │                                        (accessibility.py)
        └── OCRUnavailable (RuntimeError)        the OCR engine is not installed

Each class carries `kind`, the LMC error kind (lmc.messages.ERROR_KINDS) it
becomes when it travels to a model: the caller's mistakes are "usage", the
infrastructure's failures are "sandbox".
"""

from __future__ import annotations

from typing import ClassVar

from lmc.errors import LMCError


class DeviceError(LMCError):
    """Root of every error raised by the screen devices."""

    kind: ClassVar[str] = "sandbox"


class DeviceUsageError(DeviceError, ValueError):
    """The caller asked a device for something impossible."""

    kind = "usage"


class OffScreen(DeviceUsageError):
    """A point lies outside the screen; the message gives the screen size."""


class UnknownKey(DeviceUsageError):
    """A key name that is not known, or not on the display's keymap."""


class UnknownCall(DeviceUsageError):
    """A computer.* call path is not on the whitelist."""


class BadTarget(DeviceUsageError):
    """A mouse action got none, or more than one, of x/y, text=, icon= and mark=."""


class TargetNotFound(DeviceError, LookupError):
    """Nothing on the screen matches what the caller pointed at."""

    kind = "usage"


class TextNotFound(TargetNotFound):
    """OCR did not find the text on the screen."""


class AmbiguousText(TargetNotFound):
    """OCR found the text several times; the message lists every match."""


class IconNotFound(TargetNotFound):
    """The icon locator picked no candidate box."""


class IconSearchUnavailable(DeviceError, RuntimeError):
    """icon= needs a vision model and the session has none."""

    kind = "usage"


class NoDisplay(DeviceError, RuntimeError):
    """No X display is available to bind the devices to."""


class XvfbMissing(NoDisplay):
    """A virtual desktop was asked for but Xvfb is not installed."""


class DesktopFailed(DeviceError, RuntimeError):
    """Xvfb did not start or did not become ready in time."""


class DesktopDied(DeviceError, RuntimeError):
    """The virtual desktop's Xvfb exited while devices were using it."""


class FailSafe(DeviceError, RuntimeError):
    """The fail-safe fired: the user pushed the mouse into a screen corner to stop."""


class ClipboardError(DeviceError, RuntimeError):
    """The clipboard tool (xclip) is missing or failed."""


class VncFailed(DeviceError, RuntimeError):
    """x11vnc did not start on a desktop (its live view)."""


class VncMissing(VncFailed):
    """A live view was asked for but x11vnc is not installed."""


class RecordingFailed(DeviceError, RuntimeError):
    """A screen recording (ffmpeg) did not start or did not finish its file."""


class FfmpegMissing(RecordingFailed):
    """A screen recording was asked for but ffmpeg is not installed."""


class OCRUnavailable(DeviceError, RuntimeError):
    """The OCR engine's package is not installed."""
