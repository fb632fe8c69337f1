"""Virtual desktops: one Xvfb display per session, started, watched and restarted."""

from __future__ import annotations

import logging
import os
import select
import shlex
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from devices.accessibility import BUS_PROPERTY, SessionBus
from devices.errors import DesktopDied, DesktopFailed, DeviceUsageError, XvfbMissing
from devices.process import end, log_tail
from devices.xdisplay import SOCKET_DIR, display_in_use

log = logging.getLogger(__name__)

_DEPTHS = (8, 16, 24, 32)


@dataclass(frozen=True)
class DesktopConfig:
    """How to start a virtual desktop."""

    width: int = 1280  #: screen width in pixels
    height: int = 800  #: screen height in pixels
    depth: int = 24  #: bits per pixel: 8, 16, 24 or 32
    first_display: int = 100  #: where the search for a free display number starts (away from :0)
    start_timeout: float = 10.0  #: seconds to wait for Xvfb to accept connections
    xvfb: str = "Xvfb"  #: the Xvfb executable, a name on PATH or a path
    #: a window manager to run on the desktop, e.g. "openbox" ('apt-get install openbox'): title
    #: bars, focus and window requests as on a real desktop. None: a bare X server
    window_manager: str | None = None
    #: run a session D-Bus for the desktop and its accessibility bus (AT-SPI), so computer.accessibility
    #: reads GTK/Qt apps started on it; needs 'apt-get install dbus-daemon at-spi2-core' (skipped, logged, without)
    accessibility: bool = True

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 16 <= value <= 16384:
                raise DeviceUsageError(f"desktop {name} must be an int from 16 to 16384, got {value!r}")
        if self.depth not in _DEPTHS:
            raise DeviceUsageError(f"desktop depth must be one of {', '.join(map(str, _DEPTHS))}, got {self.depth!r}")

    def start(self) -> VirtualDesktop:
        """A virtual desktop like this one, started (what DockerConfig(desktop=...) calls per sandbox)."""
        return VirtualDesktop(self).start()


def _xauth_field(value: bytes) -> bytes:
    return struct.pack(">H", len(value)) + value


#: an Xauthority entry (FamilyLocal) for a host that does not exist: no X client ever uses it, and our
#: Xvfb servers take no cookie, so every client connects without one as with an empty file
_NO_COOKIE = struct.pack(">H", 256) + b"".join(
    _xauth_field(value) for value in (b"lmc-no-such-host", b"65535", b"MIT-MAGIC-COOKIE-1", bytes(16)))

#: what Xvfb prints when another server already holds the display number it was given
_TAKEN = ("server already running", "Cannot establish any listening sockets")


def free_display(first: int) -> int:
    """The lowest display number from `first` on with no lock file and no socket."""
    for number in range(first, first + 1000):
        if not display_in_use(number):
            return number
    raise DesktopFailed(f"no free X display number from :{first} to :{first + 999}; stop stale Xvfb servers")


class VirtualDesktop:
    """An Xvfb display: start() picks a free number, stop() ends it, restart() brings it back."""

    def __init__(self, config: DesktopConfig | None = None) -> None:
        self.config = config or DesktopConfig()
        self._proc: subprocess.Popen[bytes] | None = None
        self._manager: subprocess.Popen[bytes] | None = None
        self._bus: SessionBus | None = None
        self._number: int | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="lmc-desktop-"))
        # python-xlib refuses to connect unless XAUTHORITY names an existing file, and prints a warning
        # to stdout (into `lmc --format json` output) when it holds no entry: give it one for no host
        self._xauthority = self._dir / "Xauthority"
        self._xauthority.write_bytes(_NO_COOKIE)

    @property
    def display(self) -> str:
        """The X display name, e.g. ':101'."""
        if self._number is None:
            raise DesktopFailed("the virtual desktop was never started; call start() first")
        return f":{self._number}"

    def env(self) -> dict[str, str]:
        """Environment variables that point a child process at this desktop (and its session bus)."""
        env = {"DISPLAY": self.display, "XAUTHORITY": str(self._xauthority)}
        if self._bus is not None:
            env["DBUS_SESSION_BUS_ADDRESS"] = self._bus.address
        return env

    def alive(self) -> bool:
        """Whether Xvfb is still running and its socket exists."""
        if self._proc is None or self._proc.poll() is not None:
            return False
        return (SOCKET_DIR / f"X{self._number}").exists()

    @property
    def pid(self) -> int | None:
        """The Xvfb process id while it runs."""
        return None if self._proc is None else self._proc.pid

    @property
    def exit_code(self) -> int | None:
        """Xvfb's exit status once it has died, else None."""
        return None if self._proc is None else self._proc.poll()

    def check(self) -> None:
        """Raise DesktopDied when Xvfb has exited since start()."""
        if self._proc is not None and not self.alive():
            raise DesktopDied(
                f"the virtual desktop {self.display} died (Xvfb exit status {self.exit_code}); "
                f"call restart() to bring it back. Xvfb said: {self._log_tail()}"
            )

    def start(self) -> VirtualDesktop:
        """Start Xvfb on a free display number and wait until it accepts connections."""
        if self.alive():
            return self
        if shutil.which(self.config.xvfb) is None:
            raise XvfbMissing(
                f"no Xvfb found (looked for {self.config.xvfb!r} on PATH): install it with "
                "'apt-get install xvfb', or run on a machine with a screen and set DISPLAY"
            )
        manager = self.config.window_manager
        if manager is not None and shutil.which(shlex.split(manager)[0]) is None:
            raise DesktopFailed(f"window manager {manager!r} is not installed: 'apt-get install "
                                f"{shlex.split(manager)[0]}', or start the desktop without one")
        number = free_display(self.config.first_display)
        for _ in range(20):
            if self._launch(number):
                self._start_helpers()
                return self
            # another process took the number between our check and Xvfb's lock: try the next one
            number = free_display(number + 1)
        raise DesktopFailed(f"Xvfb lost the race for a free display 20 times; last said: {self._log_tail()}")

    def restart(self) -> VirtualDesktop:
        """Stop Xvfb if it runs and start it again, on the same display number when free."""
        previous = self._number
        self.stop()
        # Xvfb clears a dead server's stale lock itself, so the same number usually comes back
        if previous is not None and self._launch(previous):
            self._start_helpers()
            log.info("virtual desktop :%s restarted", previous)
            return self
        return self.start()

    def _start_helpers(self) -> None:
        """The session bus (first: the window manager gets its address too), then the window manager."""
        try:
            self._start_bus()
            self._start_manager()
        except BaseException:
            self.stop()
            raise

    def _start_bus(self) -> None:
        """Run the desktop's session bus and publish its accessibility bus on the root window (AT_SPI_BUS)."""
        if not self.config.accessibility:
            return
        from devices.windows import Windows

        self._bus = SessionBus.start(self._dir, self.env(), self.config.start_timeout)
        address = None if self._bus is None else self._bus.accessibility_address(self.config.start_timeout)
        if address is None:
            return
        windows = Windows(self.display, xauthority=str(self._xauthority))
        try:
            windows.set_root_text(BUS_PROPERTY, address)
        finally:
            windows.close_connection()
        log.info("virtual desktop %s: accessibility bus %s", self.display, address)

    def _start_manager(self) -> None:
        """Run the configured window manager and wait until it has taken the screen (EWMH check window)."""
        if self.config.window_manager is None:
            return
        from devices.windows import Windows

        argv = shlex.split(self.config.window_manager)
        with open(self._dir / "wm.log", "wb") as errors:
            self._manager = subprocess.Popen(argv, env=dict(os.environ, **self.env()), stdin=subprocess.DEVNULL,
                                             stdout=errors, stderr=errors, start_new_session=True)
        windows = Windows(self.display, xauthority=str(self._xauthority))
        deadline = time.monotonic() + self.config.start_timeout
        try:
            while windows.manager() is None:
                if self._manager.poll() is not None or time.monotonic() > deadline:
                    said = (self._dir / "wm.log").read_text(errors="replace").strip()[-400:] or "(nothing)"
                    state = f"exited with status {self._manager.returncode}" if self._manager.poll() is not None \
                        else f"did not take the screen within {self.config.start_timeout} s"
                    self.stop()
                    raise DesktopFailed(f"window manager {argv[0]} {state}; it said: {said}")
                time.sleep(0.05)
        finally:
            windows.close_connection()
        log.info("virtual desktop %s: window manager %s running", self.display, argv[0])

    def stop(self) -> None:
        """Stop the window manager, the session bus and Xvfb (terminate, then kill after 5 s)."""
        manager, self._manager = self._manager, None
        bus, self._bus = self._bus, None
        proc, self._proc = self._proc, None
        if bus is not None:
            bus.stop()  # ends the accessibility bus it launched, and the registry
        for running in (manager, proc):
            if running is not None:
                end(running)
        log.info("virtual desktop :%s stopped", self._number)

    def _launch(self, number: int) -> bool:
        """Start Xvfb on :number; True once ready, False when the number was taken."""
        cfg = self.config
        read_fd, write_fd = os.pipe()
        command = [cfg.xvfb, f":{number}", "-displayfd", str(write_fd), "-nolisten", "tcp", "-noreset"]
        command += ["-screen", "0", f"{cfg.width}x{cfg.height}x{cfg.depth}"]
        with open(self._dir / "xvfb.log", "wb") as errors:
            proc = subprocess.Popen(
                command, pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=errors, stderr=errors
            )
        os.close(write_fd)
        try:
            ready = self._wait_ready(proc, read_fd)
        finally:
            os.close(read_fd)
        if ready:
            self._proc, self._number = proc, number
            log.info("virtual desktop :%s started (%sx%sx%s)", number, cfg.width, cfg.height, cfg.depth)
            return True
        lost_race = self._lost_race()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            if lost_race:  # it found the number taken and had not yet exited: try the next one
                return False
            raise DesktopFailed(
                f"Xvfb :{number} did not accept connections within {cfg.start_timeout} s; "
                f"raise DesktopConfig.start_timeout on a busy machine. Xvfb said: {self._log_tail()}"
            )
        if lost_race or display_in_use(number):
            return False
        raise DesktopFailed(f"Xvfb :{number} exited with status {proc.returncode}: {self._log_tail()}")

    def _wait_ready(self, proc: subprocess.Popen[bytes], read_fd: int) -> bool:
        """Wait for Xvfb to write its display number (it does once it listens); False if it exits."""
        deadline = time.monotonic() + self.config.start_timeout
        said = b""
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([read_fd], [], [], min(remaining, 0.5))
            if readable:
                chunk = os.read(read_fd, 32)
                if not chunk:  # EOF: Xvfb exited before listening
                    return False
                said += chunk
                # Xvfb writes the number and the newline separately, and dies of EPIPE
                # if the pipe is closed in between: read through the newline
                if said.endswith(b"\n"):
                    return True
            elif proc.poll() is not None or self._lost_race():
                return False
        return False

    def _lost_race(self) -> bool:
        """Whether Xvfb says another server holds its display number (it may take a while to exit)."""
        path = self._dir / "xvfb.log"
        return path.exists() and any(sign in path.read_text(errors="replace") for sign in _TAKEN)

    def _log_tail(self) -> str:
        return log_tail(self._dir / "xvfb.log")

    def close(self) -> None:
        """Stop Xvfb and remove the desktop's temp folder."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> VirtualDesktop:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
