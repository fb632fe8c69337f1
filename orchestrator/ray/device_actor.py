"""The device actor: one Ray actor per desktop, placed on the node that has the screen.

A node advertises screens with a custom resource, and each actor takes one:

    ray start --resources '{"display": 4}'        # a node that can host 4 desktops
    ray.init(resources={"display": 4})            # the same for a local Ray

`DeviceHost` holds the logic and runs without Ray; `create_device_actor`
only places it. Calls are served one at a time: a desktop belongs to one session.
`open_device_actor` places one and waits until its desktop is up, with a clear error
when no node offers a screen; `RemoteDevices` is the session's side of it: it travels
(pickled) to wherever the session runs and answers like a DeviceHost there.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.desktop import DesktopConfig, VirtualDesktop
from devices.errors import DesktopDied, DeviceUsageError
from devices.facade import DEVICES, Devices, DevicesConfig
from devices.icons import IconLocator
from devices.scaling import Scaling
from devices.xdisplay import host_display
from devices.xinput import forget
from lmc.errors import LMCError
from orchestrator.ray.placement import DISPLAY_RESOURCE, LOCAL_DISPLAYS, offers_displays

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
            from devices.xinput import input_for

            input_for(display).failsafe = True  # on a real screen, a corner stops the agent
        self._locator: IconLocator | None = None
        self._recording: Any = None
        self.devices = Devices(display, self.config.devices, xauthority=xauthority)
        if self.config.warm_ocr:
            self.devices.display.warm_up()

    @property
    def scaling(self) -> Scaling:
        """The coordinates the devices' calls speak (devices.scaling)."""
        return self.devices.scaling

    def check(self) -> None:
        """DesktopDied when the virtual desktop's X server has died (nothing to check on the host's screen)."""
        if self.desktop is not None:
            self.desktop.check()

    def record(self, path: str | Path) -> Path:
        """Record this screen into `path` (.mp4 or .mkv, on this host) until stop_recording() or close()."""
        from devices.recording import Recording

        if self._recording is not None and self._recording.alive():
            raise DeviceUsageError(f"this screen is already being recorded into {self._recording.path}; "
                                   "stop that recording first")
        env = self.env()
        self._recording = Recording(env["DISPLAY"], path, env=env).start()
        return Path(self._recording.path)

    def stop_recording(self) -> Path | None:
        """Finish the recording (the video file's path), or None when none was started."""
        recording, self._recording = self._recording, None
        return None if recording is None else Path(recording.stop())

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
        self.check()
        return self.devices.call(path, args or [], kwargs or {})

    def node(self) -> str:
        """The Ray node this host runs on ("" outside Ray): the session's sandbox goes there, next to the screen."""
        try:
            import ray

            return str(ray.get_runtime_context().get_node_id()) if ray.is_initialized() else ""
        except ImportError:
            return ""

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
        """Finish any recording, stop the desktop (if virtual) and release the display."""
        try:
            if self._recording is not None:
                try:
                    self.stop_recording()
                except LMCError as exc:
                    log.warning("the screen recording: %s", exc)
        finally:
            self.devices.close()
            if self.desktop is not None:
                self.desktop.close()


def create_device_actor(config: DeviceHostConfig | None = None, *, name: str | None = None,
                        node: str | None = None, display_slot: bool = True) -> Any:
    """A Ray actor running a DeviceHost, placed on a node that advertises the `display` resource.

    `node` pins it to that node (a fleet worker's own, so the session's sandbox and screen are
    neighbours); `display_slot=False` asks for no `display` slot (a node that declares none, where
    the fleet admits desktop sessions by its own count).

    Not restarted by Ray (`max_restarts=0`): a restarted actor would start another desktop, whose
    screen and windows are not the ones the session's code and the model were working on; the
    session's next computer.* call fails instead. No task is retried: a click or a key press is
    not idempotent.
    """
    import ray

    options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": 1, "max_restarts": 0, "max_task_retries": 0}
    if display_slot:
        options["resources"] = {DISPLAY_RESOURCE: 1}
    if name is not None:
        options["name"] = name
    if node is not None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=False)
    return ray.remote(DeviceHost).options(**options).remote(config)


class NoFreeScreen(DesktopDied):
    """No `display` slot of the cluster freed up in time for a new device actor (every screen is in use)."""


#: seconds a new device actor may wait for a free `display` slot and start its desktop
PLACE_TIMEOUT = 120.0


def open_device_actor(config: DeviceHostConfig | None = None, *, node: str | None = None,
                      display_slot: bool = True, timeout: float = PLACE_TIMEOUT) -> RemoteDevices:
    """A device actor with its desktop up, as RemoteDevices; a clear error when none can be placed.

    Raises DeviceUsageError when no node of the cluster offers a `display` slot (how to add one),
    and DesktopDied when the desktop does not start (NoFreeScreen: no slot frees up) within `timeout` seconds.
    """
    import ray

    if display_slot and not offers_displays(ray):
        raise DeviceUsageError(
            f"no node of this Ray cluster offers a screen (the {DISPLAY_RESOURCE!r} resource); start one that does: "
            f"ray start --resources '{{\"{DISPLAY_RESOURCE}\": 4}}' (a local Ray started by lmc offers "
            f"{LOCAL_DISPLAYS})")
    handle = create_device_actor(config, node=node, display_slot=display_slot)
    devices = RemoteDevices(handle, (config or DeviceHostConfig()).devices.scaling)
    started = time.monotonic()
    try:
        ready, _ = ray.wait([handle.node.remote()], timeout=timeout)
        if not ready:
            raise NoFreeScreen(
                f"no desktop could start within {timeout:g} s: every {DISPLAY_RESOURCE!r} slot of the cluster is in "
                "use (close other OS-mode sessions, or add a node with more)")
        devices.node_id = devices._get(ready[0])
    except BaseException:
        devices.close()
        raise
    log.info("device actor up on node %s in %.2f s", devices.node_id[:12], time.monotonic() - started)
    return devices


class RemoteDevices:
    """A session's side of a device actor: answers like a DeviceHost, each call a round trip to the actor.

    Picklable (a Ray actor handle and a few plain fields): it travels to the session actor or fleet
    worker that drives the screen. `computer.display.view()` and the rest work on it as on the local
    devices (`display`, `mouse`... are proxies whose methods are computer.* calls, answered as code in
    a sandbox gets them: in the devices' coordinates, boxes as dicts). A dead actor is
    DeviceActorLost (a DesktopDied: the session's desktop is gone).
    """

    def __init__(self, handle: Any, scaling: Scaling | None = None) -> None:
        self.handle = handle
        self.node_id = ""  #: the node the actor (and the screen) is on
        #: the coordinates the screen's calls speak (the actor's DevicesConfig.scaling)
        self.scaling = scaling or Scaling()
        self._env: dict[str, str] | None = None

    def _get(self, ref: Any) -> Any:
        import ray

        from orchestrator.ray.errors import DeviceActorLost, mapped

        with mapped("the device actor of this session's screen", "the desktop is gone with it; start a new session",
                    DeviceActorLost):
            return ray.get(ref)

    def call(self, path: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None) -> object:
        """One computer.* call on the actor's screen."""
        return self._get(self.handle.call.remote(path, list(args or []), dict(kwargs or {})))

    def __getattr__(self, name: str) -> Any:
        if name in DEVICES:
            return _DeviceProxy(self, name)
        raise AttributeError(name)

    def env(self) -> dict[str, str]:
        """DISPLAY and XAUTHORITY of the screen, for programs on the actor's node (asked once)."""
        if self._env is None:
            self._env = dict(self._get(self.handle.env.remote()))
        return dict(self._env)

    def check(self) -> None:
        """DesktopDied (or DeviceActorLost) when the screen is gone."""
        self._get(self.handle.check.remote())

    def health(self) -> dict[str, Any]:
        """The actor's health report (DeviceHost.health)."""
        return dict(self._get(self.handle.health.remote()))

    def set_icon_locator(self, locator: IconLocator | None) -> None:
        """Send the session's vision model for icon= to the actor (pickled)."""
        self._get(self.handle.set_icon_locator.remote(locator))

    def record(self, path: str | Path) -> Path:
        """Record the screen into `path` on the actor's node until stop_recording() or close()."""
        return Path(self._get(self.handle.record.remote(str(path))))

    def stop_recording(self) -> Path | None:
        """Finish the recording on the actor's node."""
        done = self._get(self.handle.stop_recording.remote())
        return None if done is None else Path(done)

    def close(self) -> None:
        """Stop the desktop and end the actor (nothing to do when it is already gone)."""
        import ray

        try:
            self._get(self.handle.close.remote())
        except LMCError as exc:
            log.info("closing the device actor: %s", exc)
        finally:
            ray.kill(self.handle)


class _DeviceProxy:
    """`display`, `mouse`, ... of RemoteDevices: each method is a computer.* call to the actor."""

    def __init__(self, devices: RemoteDevices, name: str) -> None:
        self._devices, self._name = devices, name

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        path = f"{self._name}.{method}"

        def call(*args: Any, **kwargs: Any) -> object:
            return self._devices.call(path, list(args), kwargs)

        call.__name__ = method
        return call
