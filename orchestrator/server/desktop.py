"""Desktops of served sessions: a virtual desktop per computer or conversation, and its live view.

A computer or conversation created with `"desktop": true` gets its own Xvfb display (the same
`DeviceHost` as `lmc --os`), its `computer.display / mouse / keyboard` act on it, and x11vnc
serves it on a private unix socket for the console's live view (`liveview.py`). Without
x11vnc the view falls back to screenshots, and `fallback` says why.

A server keeps at most `--max-desktops` of them (default 4); one more is refused (Busy) until one
is closed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from devices.desktop import DesktopConfig
from devices.display import Display
from devices.errors import VncFailed
from devices.vnc import VncServer, vnc_missing
from orchestrator.ray.device_actor import DeviceHost, DeviceHostConfig
from orchestrator.server.config import ServerConfig
from orchestrator.server.errors import BadRequest, Busy, NotFound

log = logging.getLogger(__name__)


class LiveDesktop(DeviceHost):
    """A virtual desktop, its devices, and x11vnc on it (or the reason for none); closed together."""

    def __init__(self, config: DesktopConfig | None = None, on_close: Callable[[LiveDesktop], None] | None = None,
                 vnc: bool = True) -> None:
        super().__init__(DeviceHostConfig(desktop=config or DesktopConfig()))
        self._on_close = on_close
        self._viewer_lock = threading.Lock()
        assert self.desktop is not None
        # the screenshot stream grabs on its own X connection: mss connections are not shared between threads
        self._viewer = Display(self.desktop.display)
        self.vnc: VncServer | None = None
        self.fallback: str | None = vnc_missing() if vnc else "the live view was turned off"
        if self.fallback is None:
            try:
                self.vnc = VncServer(self.desktop.display, self.env()).start()
            except VncFailed as exc:
                log.warning("desktop %s: no VNC view (%s); the console falls back to screenshots",
                            self.desktop.display, exc)
                self.fallback = str(exc)
            except BaseException:
                super().close()
                raise

    def screenshot_png(self) -> bytes:
        """The screen now, as PNG bytes."""
        with self._viewer_lock:
            image = self._viewer.screenshot(format="png")
        assert isinstance(image.content, bytes)
        return image.content

    def info(self) -> dict[str, Any]:
        """What GET .../desktop says: the display, its size, whether VNC serves it and if not, why."""
        assert self.desktop is not None
        config = self.desktop.config
        return {"display": self.desktop.display, "width": config.width, "height": config.height,
                "vnc": self.vnc is not None and self.vnc.alive(), "fallback": self.fallback}

    def close(self) -> None:
        """Stop x11vnc, then the desktop and its devices."""
        try:
            if self.vnc is not None:
                self.vnc.stop()
            self._viewer.close()
            super().close()
        finally:
            if self._on_close is not None:
                self._on_close(self)


class Desktops:
    """The live desktops of one server process, at most `limit` at once."""

    def __init__(self, limit: int = 4, vnc: bool = True) -> None:
        self.limit, self.vnc = limit, vnc
        self._live: set[LiveDesktop] = set()
        self._lock = threading.Lock()

    def open(self) -> LiveDesktop:
        """A new desktop; Busy while this process drives `limit` already."""
        with self._lock:
            if len(self._live) >= self.limit:
                raise Busy(f"this server already serves {len(self._live)} desktops, its limit; close a computer "
                           "or conversation that has one, create this one without \"desktop\", or start the "
                           "server with a larger --max-desktops")
            desktop = LiveDesktop(on_close=self._closed, vnc=self.vnc)
            self._live.add(desktop)
        return desktop

    def _closed(self, desktop: LiveDesktop) -> None:
        with self._lock:
            self._live.discard(desktop)


def _found(item: Any) -> LiveDesktop | None:
    computer = getattr(getattr(item, "interpreter", None), "computer", item)  # a Conversation, or a Computer
    devices = getattr(computer, "devices", None)
    return devices if isinstance(devices, LiveDesktop) else None


def desktop_of(item: Any, kind: str, id: str) -> LiveDesktop:
    """The desktop of a computer or a conversation; NotFound when it was created without one."""
    found = _found(item)
    if found is None:
        raise NotFound(f"{kind} {id} has no desktop; create it with \"desktop\": true for one")
    return found


def has_desktop(item: Any) -> bool:
    """Whether a computer or conversation was created with a desktop."""
    return _found(item) is not None


def _open(desktops: Desktops, config: ServerConfig) -> LiveDesktop:
    """A new desktop of this server; refused on `lmc serve --ray`, whose sessions live in Ray actors."""
    if config.ray:
        raise BadRequest("\"desktop\": true is not served by `lmc serve --ray` yet: a desktop and its devices "
                         "live in the serving process, which a replica cannot share; run `lmc serve` without --ray")
    return desktops.open()


def desktop_computer(desktops: Desktops, server: ServerConfig, config: Any) -> Any:
    """A Computer on a new desktop: the sandbox's GUI programs draw on it, computer.* acts on it."""
    from orchestrator.session.os_mode import ScreenComputer, on_screen

    desktop = _open(desktops, server)
    try:
        placed = on_screen(config, desktop.env())
        return ScreenComputer((placed or config).create(), host=desktop, screenshots=False)
    except BaseException:
        desktop.close()
        raise


def desktop_interpreter(desktops: Desktops, server: ServerConfig, settings: Any) -> Any:
    """An Interpreter in OS mode (`lmc --os`) on a new desktop."""
    from orchestrator.session.os_mode import os_interpreter

    return os_interpreter(settings, host=_open(desktops, server))
