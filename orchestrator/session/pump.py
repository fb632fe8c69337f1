"""A model's reply read on a helper thread, so that waiting for it can be given up at once.

A model that goes silent mid-stream blocks its reader inside a socket read that
neither `Interpreter.stop()`, Ctrl-C nor a wall-time budget can interrupt. The
reply is therefore read by a daemon thread into a queue; the conversation waits
on the queue and stops waiting within POLL seconds of a stop or its deadline.
The abandoned reader ends at the model client's own idle timeout, closing its
stream, and its late events are dropped.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

#: How often a wait for the model looks at the stop flag and the deadline, in seconds.
POLL = 0.05


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

    reader = threading.Thread(target=read, name="model-stream", daemon=True)
    reader.start()
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
