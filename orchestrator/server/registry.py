"""The live computers and conversations, each filed under the owner id of the token that made it.

Another token's id looks exactly like an unknown one (NotFound), so ids leak nothing. An
entry unused for its idle timeout is handed to the reaper; one that is running never is.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from orchestrator.server.errors import Busy, NotFound

T = TypeVar("T")


@dataclass
class Entry(Generic[T]):
    """One computer or conversation and its bookkeeping."""

    id: str
    owner: str
    item: T
    idle_timeout: float
    last_used: float = field(default_factory=time.monotonic)
    busy: bool = False

    def touch(self) -> None:
        """Count this moment as use (every request, and keep-alive)."""
        self.last_used = time.monotonic()


class Registry(Generic[T]):
    """Entries of one kind ("computer", "conversation") by id, thread-safe."""

    def __init__(self, kind: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.kind = kind
        self._clock = clock
        self._entries: dict[str, Entry[T]] = {}
        self._lock = threading.Lock()

    def add(self, owner: str, item: T, idle_timeout: float, id: str | None = None) -> Entry[T]:
        """File a new item under its owner; return its entry."""
        entry = Entry(id or secrets.token_hex(8), owner, item, idle_timeout, self._clock())
        with self._lock:
            self._entries[entry.id] = entry
        return entry

    def get(self, owner: str, id: str) -> Entry[T]:
        """The owner's entry with that id, touched; NotFound for an unknown id or another owner's."""
        with self._lock:
            entry = self._entries.get(id)
        if entry is None or entry.owner != owner:
            raise NotFound(f"no {self.kind} {id!r} (for this token); list yours with GET /{self.kind}s")
        entry.touch()
        return entry

    def owned(self, owner: str) -> list[Entry[T]]:
        """The owner's entries."""
        with self._lock:
            return [e for e in self._entries.values() if e.owner == owner]

    def remove(self, owner: str, id: str) -> Entry[T]:
        """Take the owner's entry out (the caller closes it)."""
        entry = self.get(owner, id)
        with self._lock:
            self._entries.pop(id, None)
        return entry

    def claim(self, entry: Entry[T]) -> None:
        """Mark an entry running; Busy if it already is."""
        with self._lock:
            if entry.busy:
                raise Busy(f"{self.kind} {entry.id} is running already; wait for it to finish "
                           f"or stop it with POST /{self.kind}s/{entry.id}/stop")
            entry.busy = True

    def release(self, entry: Entry[T]) -> None:
        """Mark an entry idle again, from now."""
        entry.last_used = self._clock()
        entry.busy = False

    def expired(self) -> list[Entry[T]]:
        """Take out and return the entries idle past their timeout."""
        now = self._clock()
        with self._lock:
            gone = [e for e in self._entries.values() if not e.busy and now - e.last_used > e.idle_timeout]
            for entry in gone:
                del self._entries[entry.id]
        return gone

    def drain(self) -> list[Entry[T]]:
        """Take out every entry (at shutdown)."""
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        return entries
