"""The device actor: one Ray actor per desktop, placed on the node that has the screen.

A node advertises screens with a custom resource, and each actor takes one:

    ray start --resources '{"display": 4}'        # a node that can host 4 desktops
    ray.init(resources={"display": 4})            # the same for a local Ray

`DeviceHost` holds the logic and runs without Ray; `create_device_actor`
only places it. Calls are served one at a time: a desktop belongs to one session.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from devices.desktop import DesktopConfig, VirtualDesktop
from devices.errors import DeviceUsageError
from devices.facade import DEVICES, Devices, DevicesConfig
from devices.icons import IconLocator
from devices.xdisplay import host_display
from devices.xinput import forget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceHostConfig:
    """Which screen a device host drives and how."""

    desktop: DesktopConfig | None = field(default_factory=DesktopConfig)
    """start a virtual desktop like this one; None drives the host's screen instead"""
    display: str | None = None  #: the host's display when desktop is None; None reads DISPLAY
    devices: DevicesConfig = field(default_factory=DevicesConfig)  #: settings of the devices
    warm_ocr: bool = False  #: load the OCR models when the actor starts rather than on the first find_text

    def __post_init__(self) -> None:
        if self.desktop is not None and self.display is not None:
            raise DeviceUsageError(
                f"give either a virtual desktop or the host display {self.display!r}, not both; "
                "set desktop=None to drive the host's screen"
            )


class DeviceHost:
    """A screen (virtual or the host's) and its devices, watched for Xvfb dying."""

    def __init__(self, config: DeviceHostConfig | None = None) -> None:
        self.config = config or DeviceHostConfig()
        self.desktop: VirtualDesktop | None = None
        xauthority = None
        if self.config.desktop is not None:
            self.desktop = VirtualDesktop(self.config.desktop).start()
            display = self.desktop.display
            xauthority = self.desktop.env()["XAUTHORITY"]
        else:
            # the edge of the node: the host's screen is whatever this process was given
            display = self.config.display or host_display(os.environ)
        self._locator: IconLocator | None = None
        self.devices = Devices(display, self.config.devices, xauthority=xauthority)
        if self.config.warm_ocr:
            self.devices.display.warm_up()

    def __getattr__(self, name: str) -> Any:
        # display, mouse, keyboard, clipboard: the devices themselves, for callers in this process
        if name in DEVICES:
            return getattr(self.__dict__["devices"], name)
        raise AttributeError(name)

    def set_icon_locator(self, locator: IconLocator | None) -> None:
        """Plug in the session's vision model for icon= (it travels to the actor pickled)."""
        self._locator = locator
        self.devices.set_icon_locator(locator)

    def call(self, path: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None) -> object:
        """One computer.* call; DesktopDied first if the virtual desktop has died."""
        if self.desktop is not None:
            self.desktop.check()
        return self.devices.call(path, args or [], kwargs or {})

    def health(self) -> dict[str, Any]:
        """Where the devices point and whether the desktop lives."""
        alive = True if self.desktop is None else self.desktop.alive()
        exit_code = None if self.desktop is None else self.desktop.exit_code
        return {
            "display": self.devices.display.display,
            "virtual": self.desktop is not None,
            "alive": alive,
            "exit_code": exit_code,
            "pid": os.getpid(),
            "xvfb_pid": None if self.desktop is None else self.desktop.pid,
        }

    def env(self) -> dict[str, str]:
        """DISPLAY (and XAUTHORITY) for sandboxes whose GUI programs should draw on this screen."""
        if self.desktop is not None:
            return self.desktop.env()
        return {"DISPLAY": self.devices.display.display}

    def restart(self) -> dict[str, Any]:
        """Restart the virtual desktop (same display number when free) and reconnect the devices."""
        if self.desktop is None:
            raise DeviceUsageError("only a virtual desktop can be restarted; this host drives the real screen")
        old = self.desktop.display
        self.desktop.restart()
        if self.desktop.display != old:
            log.warning("desktop %s came back as %s", old, self.desktop.display)
            self.devices = Devices(
                self.desktop.display, self.config.devices, xauthority=self.desktop.env()["XAUTHORITY"]
            )
            self.devices.set_icon_locator(self._locator)
        self.devices.reconnect()
        forget(old)  # the input connection to the old Xvfb is dead; the next call opens a new one
        forget(self.desktop.display)
        return self.health()

    def close(self) -> None:
        """Stop the desktop (if virtual) and release the display."""
        self.devices.close()
        if self.desktop is not None:
            self.desktop.close()


def create_device_actor(config: DeviceHostConfig | None = None, *, name: str | None = None) -> Any:
    """A Ray actor running a DeviceHost, placed on a node that advertises the `display` resource.

    Not restarted by Ray (`max_restarts=0`): a restarted actor would start another desktop, whose
    screen and windows are not the ones the session's code and the model were working on; the
    session's next computer.* call fails instead. No task is retried: a click or a key press is
    not idempotent.
    """
    import ray

    options: dict[str, Any] = {"resources": {"display": 1}, "num_cpus": 0, "max_concurrency": 1,
                               "max_restarts": 0, "max_task_retries": 0}
    if name is not None:
        options["name"] = name
    return ray.remote(DeviceHost).options(**options).remote(config)
