"""Keeps an E2B sandbox alive while it is in use, and only then.

E2B kills a sandbox when its timeout runs out. Extending it on a timer while a
run is going (or one ran since the last tick) keeps long sessions alive, yet an
abandoned sandbox still expires on its own and stops costing money.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from lmc.errors import LMCError

log = logging.getLogger(__name__)


class KeepAlive:
    """Calls `extend()` every `period` seconds while the sandbox is busy or was used since the last call."""

    def __init__(self, extend: Callable[[], None], period: float) -> None:
        self.extend = extend
        self.period = period
        self.extensions = 0  #: how many times the timeout was extended
        self._active = 0
        self._used = False
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="e2b-keepalive", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Mark the sandbox in use for the duration of the block."""
        with self._lock:
            self._active += 1
            self._used = True
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1

    def _loop(self) -> None:
        while not self._stopped.wait(self.period):
            with self._lock:
                due, self._used = self._active > 0 or self._used, False
            if due:
                try:
                    self.extend()
                    self.extensions += 1
                except LMCError as exc:  # the next run reports a sandbox that is really gone
                    log.warning("could not extend the E2B sandbox timeout: %s", exc)

    def stop(self) -> None:
        """Stop extending."""
        self._stopped.set()
