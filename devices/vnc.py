"""A VNC server (x11vnc) on an X display, reachable through a private unix socket only.

x11vnc listens on no TCP port (IPv4 or IPv6): its socket sits in a folder of mode 0700, so
only this user's processes reach it; whoever shows the desktop to others (`lmc serve`'s
WebSocket bridge) puts its own authentication in front. No VNC password: the socket's
folder is the access control.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from devices.errors import VncFailed, VncMissing
from devices.process import end, log_tail

log = logging.getLogger(__name__)

#: seconds to wait for x11vnc's socket to appear
START_TIMEOUT = 15.0


def vnc_missing() -> str | None:
    """Why no VNC server can start here (x11vnc not installed), or None when one can."""
    if shutil.which("x11vnc") is None:
        return "x11vnc is not installed (apt-get install x11vnc)"
    return None


class VncServer:
    """x11vnc serving one X display on a unix socket; stop() ends it and removes the socket."""

    def __init__(self, display: str, env: dict[str, str] | None = None) -> None:
        self.display = display
        self._env = env or {}
        self._dir = Path(tempfile.mkdtemp(prefix="lmc-vnc-"))  # mkdtemp makes it 0700
        self.socket = self._dir / "rfb.sock"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = START_TIMEOUT) -> VncServer:
        """Start x11vnc and wait until its socket accepts connections."""
        missing = vnc_missing()
        if missing is not None:
            raise VncMissing(f"no live view of {self.display}: {missing}")
        # no TCP at all: -rfbport 0 alone still left x11vnc listening on [::]:5900 (IPv6) here; -localhost
        # would refuse the unix socket's clients too
        command = ["x11vnc", "-display", self.display, "-rfbport", "0", "-rfbportv6", "-1", "-noipv6",
                   "-unixsock", str(self.socket), "-forever", "-shared", "-nopw", "-nossl", "-quiet", "-noxdamage"]
        with open(self._dir / "x11vnc.log", "wb") as out:
            self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                          env={"PATH": "/usr/bin:/bin", **self._env})
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = self._log_tail()
                self.stop()
                raise VncFailed(f"x11vnc did not start on {self.display} within {timeout:g} s; it said: {tail}")
            time.sleep(0.05)
        log.info("x11vnc serving %s on %s", self.display, self.socket)
        return self

    def alive(self) -> bool:
        """Whether x11vnc still runs."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """x11vnc's process id while it runs."""
        return self._proc.pid if self.alive() and self._proc is not None else None

    def _log_tail(self) -> str:
        return log_tail(self._dir / "x11vnc.log", 3)

    def stop(self) -> None:
        """End x11vnc (terminate, then kill after 5 s) and remove its folder."""
        proc, self._proc = self._proc, None
        if proc is not None:
            end(proc)
        shutil.rmtree(self._dir, ignore_errors=True)
