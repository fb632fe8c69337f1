"""X display names: parsing them, finding their local sockets, choosing the host's display."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from devices.errors import DeviceUsageError, NoDisplay

SOCKET_DIR = Path("/tmp/.X11-unix")
_NAME = re.compile(r"^(?P<host>[\w.-]*):(?P<number>\d+)(?:\.(?P<screen>\d+))?$")

_HOW_TO_GET_ONE = (
    "run with --desktop virtual to get a virtual desktop (needs Xvfb: 'apt-get install xvfb'), "
    "or set DISPLAY to a running X server"
)


def display_number(display: str) -> int:
    """The number in an X display name: ':101' -> 101, 'host:3.0' -> 3."""
    match = _NAME.match(display)
    if match is None:
        raise DeviceUsageError(f"an X display name looks like ':101' or 'host:0.0', got {display!r}")
    return int(match["number"])


def socket_path(display: str) -> Path:
    """The local socket of an X display."""
    return SOCKET_DIR / f"X{display_number(display)}"


def display_in_use(number: int) -> bool:
    """Whether an X server holds (or left behind) the lock file or socket of display :number."""
    return Path(f"/tmp/.X{number}-lock").exists() or (SOCKET_DIR / f"X{number}").exists()


def host_display(environ: Mapping[str, str]) -> str:
    """The host's X display from DISPLAY in `environ`; NoDisplay saying how to get one."""
    display = environ.get("DISPLAY", "")
    if not display:
        raise NoDisplay(f"no X display: DISPLAY is not set; {_HOW_TO_GET_ONE}")
    match = _NAME.match(display)
    if match is None:
        raise NoDisplay(f"DISPLAY={display!r} is not an X display name like ':0'; {_HOW_TO_GET_ONE}")
    if not match["host"] and not socket_path(display).exists():
        where = socket_path(display)
        raise NoDisplay(f"DISPLAY={display} but no X server listens at {where}; {_HOW_TO_GET_ONE}")
    return display
