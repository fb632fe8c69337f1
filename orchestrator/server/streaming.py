"""Blocking chunk iterators (Computer.run, Interpreter.chat) streamed to asyncio without blocking it.

The iterator is made and read on a worker thread of the server's stream pool, which hands items
to the event loop as they come; a consumer that goes away (client disconnected, stream
cancelled) calls `on_abandon` (stop the run), and `on_finish` runs on the thread once the
iterator is done, whatever happened, before the consumer sees the end.

This is the hot path of every run the server streams, and on a loaded machine each hand-over
between threads costs a scheduling delay: so the pool's threads are reused (no thread start
per run, which also blocked the event loop until the new thread ran), the iterator is made on
the worker itself (no separate hop to check the request first), and the worker wakes the event
loop only when the consumer waits, so items that arrive together are taken (and sent) together.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

#: streams running at once, at most; each holds one worker thread until its iterator ends
MAX_STREAMS = 4096
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def stream_pool() -> ThreadPoolExecutor:
    """The worker threads of every stream, made on first use (idle ones are reused)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(MAX_STREAMS, thread_name_prefix="lmc-serve-stream")
        return _pool


def _resolve(future: asyncio.Future[None], exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)


class Pump(Generic[T]):
    """The items of `produce()`, made and read on a worker thread; its exception is raised to the consumer.

    `await started()` waits until `produce()` has returned its iterable and raises what it
    raised (the request was refused before anything streamed: the caller can still answer 400).
    """

    def __init__(self, produce: Callable[[], Iterable[T]], *, on_abandon: Callable[[], None],
                 on_finish: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._pending: list[tuple[str, Any]] = []
        self._waiter: asyncio.Future[None] | None = None
        self._started: asyncio.Future[None] = self._loop.create_future()
        self._on_abandon = on_abandon
        self.finished = False
        stream_pool().submit(self._work, produce, on_finish)

    def _wake(self, future: asyncio.Future[None], exc: BaseException | None = None) -> None:
        try:
            self._loop.call_soon_threadsafe(_resolve, future, exc)
        except RuntimeError:  # the loop has closed (server shutting down): nobody is listening
            pass

    def _put(self, item: tuple[str, Any]) -> None:
        with self._lock:
            self._pending.append(item)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self._wake(waiter)

    def _work(self, produce: Callable[[], Iterable[T]], on_finish: Callable[[], None]) -> None:
        end: tuple[str, Any] = ("done", None)
        started = False
        try:
            iterable = produce()
            started = True
            self._wake(self._started)
            for item in iterable:
                self._put(("item", item))
        except BaseException as exc:  # every failure is handed to the consumer
            end = ("error", exc)
        finally:
            # finish first: a client that sends its next run the moment it sees this one end
            # must find the computer released, not Busy
            try:
                on_finish()
            finally:
                if started:
                    self._put(end)
                else:
                    self.finished = True
                    self._wake(self._started, end[1])

    async def started(self) -> None:
        """Wait for `produce()` to return; raise what it raised."""
        await self._started

    async def batches(self) -> AsyncIterator[list[T]]:
        """The items as they come, those that arrived together in one list; the producer's exception is raised."""
        while not self.finished:
            with self._lock:
                taken, self._pending = self._pending, []
                if not taken:
                    self._waiter = waiter = self._loop.create_future()
            if not taken:
                await waiter
                continue
            items = [value for kind, value in taken if kind == "item"]
            kind, value = taken[-1]
            if kind != "item":
                self.finished = True
            if items:
                yield items
            if kind == "error":
                raise value

    async def items(self) -> AsyncIterator[T]:
        """The items one by one as they come; the producer's exception is raised here."""
        async for batch in self.batches():
            for item in batch:
                yield item

    def abandon(self) -> None:
        """The consumer is gone: stop the producer unless it has finished (a waiting `batches` ends)."""
        if not self.finished:
            self.finished = True
            log.info("stream abandoned by its client; stopping the run")
            with self._lock:
                waiter, self._waiter = self._waiter, None
            if waiter is not None:
                _resolve(waiter, None)
            self._on_abandon()
