"""The screen side of a Computer: display, OCR, mouse, keyboard, clipboard, virtual desktops.

One plain class per device, all bound to one X display; `Devices` bundles them
and dispatches `computer.*` calls; `VirtualDesktop` starts Xvfb displays.
The Ray actor per desktop is `orchestrator.ray.device_actor`. Importing this package
loads no heavy library: mss, python-xlib, rapidocr, OpenCV and ray are imported
where they are used.
"""

from devices.desktop import DesktopConfig, VirtualDesktop
from devices.errors import DeviceError
from devices.facade import CALLS, Devices, DevicesConfig
from devices.icons import IconLocator

__all__ = [
    "CALLS",
    "DesktopConfig",
    "DeviceError",
    "Devices",
    "DevicesConfig",
    "IconLocator",
    "VirtualDesktop",
]
