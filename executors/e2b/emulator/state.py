"""The emulated cloud's state: its sandboxes, their expiry, scripted faults, the requests seen.

Every other module of the emulator reads and changes the cloud through this
one object; none of them imports another to reach it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from executors.e2b.emulator.sandboxes import Sandbox


@dataclass
class Fault:
    """A scripted failure of the control plane: the next `times` matching requests fail."""

    method: str  #: HTTP method to match
    path: str  #: path prefix to match
    status: int  #: status to answer with
    message: str  #: error message of the body
    times: int = 1  #: how many requests fail


class Cloud:
    """Sandboxes, their expiry and scripted faults; the API key and templates it accepts."""

    def __init__(self, api_key: str, templates: Iterable[str]) -> None:
        self.api_key = api_key
        self.templates = set(templates)
        self.sandboxes: dict[str, Sandbox] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []  #: (method, path) of every control-plane request
        self._lock = threading.Lock()

    # -- registry -------------------------------------------------------------------
    def add(self, sandbox: Sandbox) -> None:
        """Register a new sandbox."""
        with self._lock:
            self.sandboxes[sandbox.id] = sandbox

    def get(self, sandbox_id: str) -> Sandbox | None:
        """The live sandbox with that id, if any."""
        sandbox = self.sandboxes.get(sandbox_id)
        return sandbox if sandbox is not None and sandbox.alive else None

    def remove(self, sandbox_id: str) -> None:
        """Kill a sandbox and forget it."""
        with self._lock:
            sandbox = self.sandboxes.pop(sandbox_id, None)
        if sandbox is not None:
            sandbox.kill()

    def reap(self) -> None:
        """Kill every sandbox past its timeout."""
        now = time.monotonic()
        for sandbox in list(self.sandboxes.values()):
            if sandbox.deadline < now:
                self.remove(sandbox.id)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Record a control-plane request; the scripted failure for it, if one is armed."""
        with self._lock:
            self.requests.append((method, path))
            for fault in self.faults:
                if fault.method == method and path.startswith(fault.path) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None
