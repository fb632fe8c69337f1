"""Blocking chunk iterators (Computer.run, Interpreter.chat) streamed to asyncio without blocking it.

The iterator runs on its own thread and hands items to the event loop as they come; a
consumer that goes away (client disconnected, stream cancelled) calls `on_abandon` (stop the
run), and `on_finish` runs on the thread once the iterator is done, whatever happened.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def _deliver(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[tuple[str, Any]], item: tuple[str, Any]) -> None:
    try:
        loop.call_soon_threadsafe(queue.put_nowait, item)
    except RuntimeError:  # the loop has closed (server shutting down): nobody is listening
        pass


class Pump(Generic[T]):
    """The items of `produce()`, made on a thread started at once; its exception is raised to the consumer."""

    def __init__(self, produce: Callable[[], Iterable[T]], *, on_abandon: Callable[[], None],
                 on_finish: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._on_abandon = on_abandon
        self.finished = False
        threading.Thread(target=self._work, args=(produce, on_finish), name="lmc-serve-stream", daemon=True).start()

    def _work(self, produce: Callable[[], Iterable[T]], on_finish: Callable[[], None]) -> None:
        try:
            for item in produce():
                _deliver(self._loop, self._queue, ("item", item))
        except BaseException as exc:  # every failure is handed to the consumer
            _deliver(self._loop, self._queue, ("error", exc))
        else:
            _deliver(self._loop, self._queue, ("done", None))
        finally:
            on_finish()

    async def items(self) -> AsyncIterator[T]:
        """The items as they come; the producer's exception is raised here."""
        while not self.finished:
            kind, value = await self._queue.get()
            if kind == "item":
                yield value
                continue
            self.finished = True
            if kind == "error":
                raise value

    def abandon(self) -> None:
        """The consumer is gone: stop the producer unless it has finished."""
        if not self.finished:
            self.finished = True
            log.info("stream abandoned by its client; stopping the run")
            self._on_abandon()
