"""Desktops of served sessions: a virtual desktop per computer or conversation, and its live view.

A computer or conversation created with `"desktop": true` gets its own Xvfb display (the same
`DeviceHost` as `lmc --os`), its `computer.display / mouse / keyboard` act on it, and x11vnc
serves it on a private unix socket for the console's live view (`liveview.py`). Without
x11vnc the view falls back to screenshots, and `fallback` says why.

A server keeps at most `--max-desktops` of them (default 4); one more is refused (Busy) until one
is closed. On `lmc serve --ray` a desktop is a device actor's (server/cluster.py) on a node with a
free `display` slot, so the cluster's slots are the limit; its view is screenshots taken through
the device actor (`ActorDesktop`): the actor's X server is on its node, out of a replica's reach.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from devices.desktop import DesktopConfig
from devices.display import Display
from devices.errors import VncFailed
from devices.vnc import VncServer, vnc_missing
from orchestrator.ray.device_actor import DeviceHost, DeviceHostConfig, RemoteDevices
from orchestrator.server.errors import Busy, NotFound

log = logging.getLogger(__name__)


#: what GET .../desktop says of a device actor's desktop (lmc serve --ray) in place of a VNC view
ACTOR_FALLBACK = ("this desktop is a device actor's on a node of the Ray cluster (lmc serve --ray), whose VNC "
                  "socket a replica cannot reach; the view is screenshots taken through the device actor")


class DesktopView(Protocol):
    """What the live view needs of a desktop (liveview.py)."""

    vnc: VncServer | None
    fallback: str | None

    def info(self) -> dict[str, Any]:
        """What GET .../desktop says."""

    def screenshot_png(self) -> bytes:
        """The screen now, as PNG bytes."""


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


class ActorDesktop:
    """The live view of a device actor's desktop (lmc serve --ray): screenshots through the actor, no VNC."""

    vnc: VncServer | None = None

    def __init__(self, devices: RemoteDevices) -> None:
        self.devices = devices
        self.fallback: str | None = ACTOR_FALLBACK

    def screenshot_png(self) -> bytes:
        """The screen now, as PNG bytes, taken by the device actor."""
        image = self.devices.call("display.screenshot", [], {"format": "png"})
        content = getattr(image, "content", None)
        assert isinstance(content, bytes), f"display.screenshot answered {type(image).__name__}"
        return content

    def info(self) -> dict[str, Any]:
        """The display (on the actor's node), its size in the devices' coordinates, why there is no VNC."""
        size = self.devices.call("display.size")
        assert isinstance(size, list)
        return {"display": self.devices.health()["display"], "width": size[0], "height": size[1], "vnc": False,
                "fallback": self.fallback, "node": self.devices.node_id}


def _found(item: Any) -> DesktopView | None:
    asked = getattr(item, "screen_devices", None)  # a conversation on Ray: its session's device actor, if any
    if asked is not None:
        devices = asked()
    else:
        computer = getattr(getattr(item, "interpreter", None), "computer", item)  # a Conversation, or a Computer
        devices = getattr(computer, "devices", None)
    if isinstance(devices, RemoteDevices):
        return ActorDesktop(devices)
    return devices if isinstance(devices, LiveDesktop) else None


def desktop_of(item: Any, kind: str, id: str) -> DesktopView:
    """The desktop of a computer or a conversation; NotFound when it was created without one."""
    found = _found(item)
    if found is None:
        raise NotFound(f"{kind} {id} has no desktop; create it with \"desktop\": true for one")
    return found


def has_desktop(item: Any) -> bool:
    """Whether a computer or conversation was created with a desktop (a conversation on Ray says so itself)."""
    screened = getattr(item, "has_screen", None)
    if screened is not None:
        return bool(screened)
    return _found(item) is not None


def desktop_computer(desktops: Desktops, config: Any) -> Any:
    """A Computer on a new desktop: the sandbox's GUI programs draw on it, computer.* acts on it."""
    from orchestrator.session.os_mode import ScreenComputer, on_screen

    desktop = desktops.open()
    try:
        placed = on_screen(config, desktop.env())
        return ScreenComputer((placed or config).create(), host=desktop, screenshots=False)
    except BaseException:
        desktop.close()
        raise


def desktop_interpreter(desktops: Desktops, settings: Any) -> Any:
    """An Interpreter in OS mode (`lmc --os`) on a new desktop."""
    from orchestrator.session.os_mode import os_interpreter

    return os_interpreter(settings, host=desktops.open())
