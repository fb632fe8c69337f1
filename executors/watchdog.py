"""Host-side deadlines: act on a sandbox that cannot answer (frozen, paused, wedged) in time.

The agent enforces a run's timeout inside the sandbox; this is the host's own bound
for when the agent itself cannot act (`docker pause`, a stopped process, a starved
machine). One daemon thread serves every deadline of the process. Arming costs a
lock and, only when the new deadline is the earliest, a wake-up: nothing per frame,
a few microseconds per run.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Watchdog:
    """Calls each armed callback once its deadline (time.monotonic()) passes, unless disarmed first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, Callable[[], None]]] = {}
        self._ids = itertools.count(1)
        self._wake_at = math.inf  # when the thread next looks, so arming wakes it only when sooner
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, callback: Callable[[], None]) -> int:
        """Call `callback` (on its own thread) at `deadline` unless disarmed; a token for `disarm`."""
        with self._cond:
            token = next(self._ids)
            self._armed[token] = (deadline, callback)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="lmc-watchdog", daemon=True)
                self._thread.start()
            elif deadline < self._wake_at:
                self._cond.notify()
        return token

    def disarm(self, token: int) -> bool:
        """Forget a deadline; False when it had already fired (or was never armed)."""
        with self._cond:
            return self._armed.pop(token, None) is not None

    def _watch(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                due = [token for token, (deadline, _) in self._armed.items() if deadline <= now]
                for token in due:
                    _, callback = self._armed.pop(token)
                    # its own thread: ending a sandbox can block (docker rm), other deadlines must not wait
                    threading.Thread(target=_fire, args=(callback,), name="lmc-deadline", daemon=True).start()
                self._wake_at = min((deadline for deadline, _ in self._armed.values()), default=math.inf)
                self._cond.wait(None if self._wake_at == math.inf else self._wake_at - now)


def _fire(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # a deadline's action failing must not go unseen, nor kill the watchdog
        log.exception("a host-side deadline's action failed")


@functools.cache
def watchdog() -> Watchdog:
    """The process's watchdog, made on first use (importing this module starts nothing)."""
    return Watchdog()
