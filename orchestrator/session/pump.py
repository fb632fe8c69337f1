"""A model's reply read on a helper thread, so that waiting for it can be given up at once.

A model that goes silent mid-stream blocks its reader inside a socket read that
neither `Interpreter.stop()`, Ctrl-C nor a wall-time budget can interrupt. The
reply is therefore read by a daemon thread into a queue; the conversation waits
on the queue and stops waiting within POLL seconds of a stop or its deadline.
The abandoned reader ends at the model client's own idle timeout, closing its
stream, and its late events are dropped. Readers are daemon threads kept for the
next reply once they finish (`_Readers`), not a new thread per model call.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: How often a wait for the model looks at the stop flag and the deadline, in seconds.
POLL = 0.05


#: How long an idle reader thread waits for its next job before it exits, in seconds.
IDLE = 30.0


class _Readers:
    """Daemon threads that run jobs; an idle one takes the next, else a new one starts (never a queue wait)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def run(self, job: Callable[[], None]) -> None:
        """Run job on an idle reader, or on a new one."""
        with self._lock:
            spare = self._idle > 0
            if spare:
                self._idle -= 1
        self._jobs.put(job)
        if not spare:
            threading.Thread(target=self._work, name="model-stream", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=IDLE)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0 and self._jobs.empty():
                        self._idle -= 1
                        return
                continue  # a job was handed to this idle reader just as it timed out
            job()
            with self._lock:
                self._idle += 1


_readers = _Readers()


class _End:
    """The reader reached the end of the reply."""


class _Failed:
    """The reader's iterator raised; the exception is raised again in the conversation's thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def cancellable(events: Iterator[T], stop: threading.Event, deadline: float | None = None) -> Iterator[T]:
    """Yield `events`, read on a daemon thread; return early once `stop` is set or `deadline` (monotonic) passes."""
    items: queue.Queue[T | _End | _Failed] = queue.Queue()
    abandoned = threading.Event()

    def read() -> None:
        try:
            for event in events:
                if abandoned.is_set():
                    break
                items.put(event)
            items.put(_End())
        except BaseException as exc:  # noqa: BLE001 - handed to the conversation's thread, raised there
            items.put(_Failed(exc))
        finally:
            close = getattr(events, "close", None)
            if callable(close):
                close()

    _readers.run(read)
    try:
        while True:
            if stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
                return
            try:
                item = items.get(timeout=POLL)
            except queue.Empty:
                continue
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        abandoned.set()
